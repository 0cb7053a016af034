"""An email's round trip through a real SMTP server (aiosmtpd) on this machine: both parts,
the unsubscribe headers, one recipient a message, and the delivery recorded as sent."""

import email
import email.policy

import pytest

from notifications.delivery.outbox import deliveries_send
from notifications.models import Delivery
from notifications.services import notify
from tests.notifications.smtp import Inbox, smtp_serving
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_server(settings):
    with smtp_serving(Inbox(), settings) as inbox:
        yield inbox


def test_an_email_goes_through_a_real_smtp_server(smtp_server):
    fans = UserFactory.create_batch(2)
    notify(
        category="show_announced", user_ids=[f.pk for f in fans], key="show_announced:9",
        context={"artist": "The Band", "venue": "Chicago", "date": "May 1", "url": "/shows/9/"},
    )  # fmt: skip

    counts = deliveries_send(ids=list(Delivery.objects.values_list("pk", flat=True)))

    assert counts.get("sent") == 2
    assert sorted(e.rcpt_tos[0] for e in smtp_server.envelopes) == sorted(f.email for f in fans)
    assert all(len(e.rcpt_tos) == 1 for e in smtp_server.envelopes)
    message = email.message_from_bytes(smtp_server.envelopes[0].content, policy=email.policy.SMTP)
    assert message["Subject"] == "The Band announced a show: Chicago on May 1"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/notifications/unsubscribe/" in message["List-Unsubscribe"]
    assert (
        message.get_body(("plain",))
        .get_content()
        .startswith("The Band will play Chicago on May 1.")
    )
    assert "<a href=" in message.get_body(("html",)).get_content()
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {
        "sent"
    }


def test_a_refused_connection_is_retried_not_lost(smtp_server, settings):
    fan = UserFactory()
    notify(
        category="show_announced", user_ids=[fan.pk], key="show_announced:10",
        context={"artist": "The Band", "venue": "Chicago", "date": "May 1", "url": "/"},
    )  # fmt: skip
    settings.EMAIL_PORT = 1  # nothing listens there

    deliveries_send(ids=list(Delivery.objects.values_list("pk", flat=True)))

    email_row = Delivery.objects.get(channel="email")
    assert email_row.status == "queued" and email_row.attempts == 1
    assert email_row.not_before > email_row.created_at
    assert smtp_server.envelopes == []

"""From a trigger to sent messages: fan-out, preferences, the outbox, retries, the dead
letter and a worker that died holding a lease."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from notifications.delivery.outbox import LEASE, MAX_ATTEMPTS, deliveries_claim, deliveries_send
from notifications.models import Delivery, Notification, NotificationPreference
from notifications.services import notify, preference_for
from notifications.tasks import deliveries_dispatch
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

CONTEXT = {
    "artist": "The Band", "venue": "The Hall, Chicago", "date": "December 1, 2026",
    "url": "/shows/1/",
}  # fmt: skip


def announce(users, key="show_announced:1", now=None):
    return notify(
        category="show_announced", user_ids=[u.pk for u in users], key=key, context=CONTEXT,
        now=now,
    )  # fmt: skip


def test_a_trigger_reaches_each_user_once_by_email_and_in_app(
    django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "http://x"
    fans = UserFactory.create_batch(3)

    with django_capture_on_commit_callbacks(execute=True):
        assert announce(fans) == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(fans) == 0  # the same trigger again: nothing new

    assert Notification.objects.count() == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f.email for f in fans)
    message = mail.outbox[0]
    assert message.subject == "The Band announced a show: The Hall, Chicago on December 1, 2026"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/notifications/unsubscribe/" in message.extra_headers["List-Unsubscribe"]
    assert message.alternatives[0][1] == "text/html"
    # The links work: unsubscribe names this user, the show link goes through the click.
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert Client().get(urlsplit(unsubscribe).path).status_code == 200
    (tracked,) = re.findall(r"http://\S+/notifications/c/\S+/", message.body)
    landing = Client().get(urlsplit(tracked).path)
    assert landing.status_code == 302 and landing["Location"] == "/shows/1/"
    statuses = sorted(Delivery.objects.values_list("channel", "status"))
    assert statuses == [("email", "sent")] * 3 + [("in_app", "delivered")] * 3
    assert all(d.latency_ms is not None for d in Delivery.objects.all())


def test_preferences_shape_the_deliveries():
    quiet, off, nothing = UserFactory.create_batch(3)
    prefs = preference_for(quiet)
    prefs.quiet_start, prefs.quiet_end = dt.time(0), dt.time(23, 59)
    prefs.save()
    NotificationPreference.objects.create(user=off, disabled=["show_announced:email"])
    nothing.email = ""
    nothing.save()
    now = timezone.now()

    announce([quiet, off, nothing], now=now)

    def channels(user):
        return dict(
            Delivery.objects.filter(notification__user=user).values_list("channel", "not_before")
        )

    assert channels(quiet)["in_app"] == now and channels(quiet)["email"] > now
    assert set(channels(off)) == {"in_app"}
    assert set(channels(nothing)) == {"in_app"}


def test_a_failing_provider_is_retried_with_backoff_then_dead_lettered(settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.FailingBackend"
    fan = UserFactory()
    announce([fan])
    email = Delivery.objects.get(channel="email")

    for attempt in range(1, MAX_ATTEMPTS + 1):
        before = timezone.now()
        deliveries_send(ids=[email.pk])
        email.refresh_from_db()
        assert email.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert email.status == "queued"
            assert email.not_before >= before + dt.timedelta(seconds=30 * 2 ** (attempt - 1))
            Delivery.objects.filter(pk=email.pk).update(not_before=timezone.now())
    assert email.status == "failed" and "refused" in email.response
    in_app = Delivery.objects.get(channel="in_app")
    deliveries_send(ids=[email.pk, in_app.pk])  # a dead letter is not tried again
    assert Delivery.objects.get(pk=email.pk).attempts == MAX_ATTEMPTS
    assert Delivery.objects.get(pk=in_app.pk).status == "delivered"  # other channels go on


def test_a_lease_keeps_other_workers_off_until_it_runs_out():
    announce(UserFactory.create_batch(2))
    now = timezone.now()

    first = deliveries_claim(now=now)
    assert len(first) == 4
    assert deliveries_claim(now=now + LEASE / 2) == []  # still leased
    # The worker died without sending: once the lease ends the rows go out again.
    again = deliveries_claim(now=now + LEASE + dt.timedelta(seconds=1))
    assert sorted(again) == sorted(first)
    deliveries_send(ids=again)
    deliveries_send(ids=first)  # the dead worker's batch, rerun: nothing twice

    assert len(mail.outbox) == 2


def test_dispatch_hands_due_deliveries_to_workers_and_leaves_held_ones():
    fan = UserFactory()
    NotificationPreference.objects.create(user=fan, digest="daily")
    announce([fan])

    handed = deliveries_dispatch()

    assert handed == 1  # in-app; the email waits for the digest
    assert Delivery.objects.get(channel="email").status == "held"
    assert Delivery.objects.get(channel="in_app").status == "delivered"


def test_each_recorded_delivery_becomes_an_analytics_event_of_its_user(
    django_capture_on_commit_callbacks,
):
    from analytics.models import Event

    fans = UserFactory.create_batch(2)
    with django_capture_on_commit_callbacks(execute=True):
        announce(fans)

    events = Event.objects.filter(event__in=["notification_sent", "notification_delivered"])
    deliveries = {d.pk: d for d in Delivery.objects.select_related("notification")}
    assert len(events) == len(deliveries) == 4
    for event in events:
        delivery = deliveries[event.properties["delivery_id"]]
        assert event.user_id == delivery.notification.user_id
        assert event.distinct_id == f"user:{delivery.notification.user_id}"
        assert event.event == (
            "notification_delivered" if delivery.channel == "in_app" else "notification_sent"
        )
        assert event.properties["channel"] == delivery.channel

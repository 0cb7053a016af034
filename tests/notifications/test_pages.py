"""The preferences page and the unsubscribe link."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from notifications.delivery.outbox import deliveries_send
from notifications.models import Delivery, NotificationPreference
from notifications.sending.digests import digests_send
from notifications.services import notify, unsubscribe_token
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_preferences_page_needs_a_log_in(client):
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_turns_a_channel_off_and_sets_quiet_hours(client):
    fan = UserFactory()
    client.force_login(fan)
    page = client.get(reverse("notifications:preferences"))
    enabled = page.context["form"]["enabled"].initial
    assert "show_announced:email" in enabled  # everything on at first

    response = client.post(
        reverse("notifications:preferences"),
        {
            "enabled": [pair for pair in enabled if pair != "show_announced:email"],
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "digest": "off",
            "digest_hour": "9",
        },  # fmt: skip
        follow=True,
    )

    assert "saved" in response.content.decode()
    saved = NotificationPreference.objects.get(user=fan)
    assert saved.disabled == ["show_announced:email"]
    assert (saved.quiet_start, saved.quiet_end) == (dt.time(22), dt.time(7))


def test_staff_alert_categories_are_listed_for_staff_only(client):
    fan, staff = UserFactory(), UserFactory(is_staff=True)
    client.force_login(fan)
    fan_page = client.get(reverse("notifications:preferences")).content.decode()
    client.force_login(staff)
    staff_page = client.get(reverse("notifications:preferences")).content.decode()

    assert "alert_firing:email" not in fan_page and "show_announced:email" in fan_page
    assert "alert_firing:email" in staff_page


def test_a_channel_turned_off_on_the_page_drops_what_was_held_or_queued_on_it(
    client, django_capture_on_commit_callbacks
):
    fan = UserFactory()
    NotificationPreference.objects.create(user=fan, digest="daily", digest_hour=8)
    context = {"artist": "A", "venue": "B", "date": "C", "url": "/"}
    notify(category="show_announced", user_ids=[fan.pk], key="a", context=context)
    notify(category="voting_closing", user_ids=[fan.pk], key="b", context={"show": "S", "url": "/"})
    held = Delivery.objects.get(channel="email", notification__category="show_announced")
    queued = Delivery.objects.get(channel="email", notification__category="voting_closing")
    assert (held.status, queued.status) == ("held", "queued")  # voting_closing is urgent
    client.force_login(fan)
    enabled = client.get(reverse("notifications:preferences")).context["form"]["enabled"].initial
    turned_off = {"show_announced:email", "voting_closing:email"}

    response = client.post(
        reverse("notifications:preferences"),
        {"enabled": [p for p in enabled if p not in turned_off], "digest": "daily",
         "digest_hour": "8"},
    )  # fmt: skip

    assert response.status_code == 302
    held.refresh_from_db()
    queued.refresh_from_db()
    assert (held.status, queued.status) == ("skipped", "skipped")
    assert held.response == queued.response == "turned off by the user"
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_send(ids=[queued.pk])
        digests_send(now=timezone.now() + dt.timedelta(days=2))
    assert not mail.outbox
    assert set(NotificationPreference.objects.get(user=fan).disabled) == turned_off


def test_bad_input_is_refused_with_a_message_and_saves_nothing(client):
    fan = UserFactory()
    client.force_login(fan)

    response = client.post(
        reverse("notifications:preferences"),
        {"quiet_start": "22:00", "digest": "off", "digest_hour": "31"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved" in body and "both a start and an end" in body
    assert "0 to 23" in body
    assert NotificationPreference.objects.get(user=fan).quiet_start is None


def test_the_page_refuses_an_sms_number_the_api_refuses(client):
    fan = UserFactory()
    client.force_login(fan)

    response = client.post(
        reverse("notifications:preferences"),
        {"digest": "off", "digest_hour": "9", "sms_number": "0049 30 1234"},
    )

    assert response.status_code == 200
    assert "international number" in response.content.decode()
    assert NotificationPreference.objects.get(user=fan).sms_number == ""


def test_one_click_unsubscribe_needs_no_session_and_drops_waiting_email(client):
    fan = UserFactory()
    NotificationPreference.objects.create(user=fan, digest="weekly")
    notify(
        category="show_announced", user_ids=[fan.pk], key="k",
        context={"artist": "A", "venue": "B", "date": "C", "url": "/"},
    )  # fmt: skip
    assert Delivery.objects.get(channel="email").status == "held"
    csrf_client = client.__class__(enforce_csrf_checks=True)

    response = csrf_client.post(
        reverse("notifications:unsubscribe", args=[unsubscribe_token(fan.pk)]),
        {"List-Unsubscribe": "One-Click"},
    )

    assert response.status_code == 200
    assert NotificationPreference.objects.get(user=fan).unsubscribed_all
    assert Delivery.objects.get(channel="email").status == "skipped"
    notify(category="voting_opened", user_ids=[fan.pk], key="k2", context={"show": "x", "url": "/"})
    second = Delivery.objects.filter(notification__key=f"k2:{fan.pk}")
    assert list(second.values_list("channel", flat=True)) == ["in_app"]  # no new email
    assert not mail.outbox


def test_an_unsubscribe_link_shows_a_page_first_and_a_forged_one_is_not_found(client):
    fan = UserFactory()
    token = unsubscribe_token(fan.pk)

    page = client.get(reverse("notifications:unsubscribe", args=[token]))
    forged = client.get(reverse("notifications:unsubscribe", args=[token[:-2] + "xx"]))
    other = client.get(reverse("notifications:unsubscribe", args=[f"{fan.pk + 1}.abc"]))

    assert page.status_code == 200 and "Stop all email" in page.content.decode()
    assert not NotificationPreference.objects.filter(user=fan, unsubscribed_all=True).exists()
    assert forged.status_code == 404 and other.status_code == 404

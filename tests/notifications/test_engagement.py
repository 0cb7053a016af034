"""Clicks through a notification's tracked link, and votes that follow a click."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import Event
from mysetlist.setlists.services import vote_cast
from notifications.models import Delivery, Notification
from notifications.services import notify
from notifications.tracking.engagement import click_token, conversions_record
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_email():
    """An email about an open show, sent to one fan."""
    show = ShowFactory(voting_open=True)
    fan = UserFactory()
    notify(
        category="voting_opened", user_ids=[fan.pk], key=f"voting_opened:{show.pk}",
        context={"show": str(show), "show_id": show.pk, "url": f"/shows/{show.pk}/"},
    )  # fmt: skip
    email = Delivery.objects.get(channel="email")
    Delivery.objects.filter(pk=email.pk).update(status="sent", sent_at=timezone.now())
    return email, show, fan


def test_a_click_is_recorded_once_and_goes_to_the_notifications_link(client, sent_email):
    email, show, fan = sent_email
    url = reverse("notifications:click", args=[click_token(email.pk)])

    first = client.get(url)
    clicked = Delivery.objects.get(pk=email.pk).clicked_at
    second = client.get(url)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == f"/shows/{show.pk}/"
    email.refresh_from_db()
    assert email.clicked_at == clicked and email.opened_at == clicked  # a click implies an open
    assert Event.objects.filter(event="notification_clicked", user_id=fan.pk).count() == 1


def test_a_forged_or_foreign_link_goes_nowhere(client, sent_email):
    email, _, _ = sent_email
    assert client.get(reverse("notifications:click", args=["1.forged"])).status_code == 404
    Notification.objects.filter(pk=email.notification_id).update(
        context={"url": "https://evil.example/phish"}
    )
    response = client.get(reverse("notifications:click", args=[click_token(email.pk)]))
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_vote_after_a_click_converts_the_delivery(
    client, sent_email, django_capture_on_commit_callbacks
):
    email, show, fan = sent_email
    client.get(reverse("notifications:click", args=[click_token(email.pk)]))

    with django_capture_on_commit_callbacks(execute=True):
        vote_cast(user=fan, show_id=show.pk, song_id=SongFactory(artist=show.artist).pk, value=1)
    with django_capture_on_commit_callbacks(execute=True):
        vote_cast(user=fan, show_id=show.pk, song_id=SongFactory(artist=show.artist).pk, value=1)

    email.refresh_from_db()
    assert email.converted_at is not None
    assert Event.objects.filter(event="notification_converted", user_id=fan.pk).count() == 1


def test_a_vote_without_a_recent_click_converts_nothing(
    sent_email, django_capture_on_commit_callbacks
):
    email, show, fan = sent_email
    with django_capture_on_commit_callbacks(execute=True):
        vote_cast(user=fan, show_id=show.pk, song_id=SongFactory(artist=show.artist).pk, value=1)
    assert Delivery.objects.get(pk=email.pk).converted_at is None

    Delivery.objects.filter(pk=email.pk).update(clicked_at=timezone.now() - dt.timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        vote_cast(user=fan, show_id=show.pk, song_id=SongFactory(artist=show.artist).pk, value=1)
    assert Delivery.objects.get(pk=email.pk).converted_at is None


def test_a_conversion_is_recorded_only_once_the_vote_commits(
    client, sent_email, django_capture_on_commit_callbacks
):
    email, show, fan = sent_email
    client.get(reverse("notifications:click", args=[click_token(email.pk)]))

    with django_capture_on_commit_callbacks() as callbacks:
        vote_cast(user=fan, show_id=show.pk, song_id=SongFactory(artist=show.artist).pk, value=1)
        assert Delivery.objects.get(pk=email.pk).converted_at is None  # not yet committed
    for callback in callbacks:
        callback()

    assert Delivery.objects.get(pk=email.pk).converted_at is not None


def test_a_vote_without_a_click_costs_one_narrow_read(sent_email, django_assert_num_queries):
    # Every vote asks; almost every answer is none: no transaction, no lock, one query.
    _, show, fan = sent_email
    with django_assert_num_queries(1):
        assert conversions_record(user_id=fan.pk, show_id=show.pk) == 0


def test_a_second_record_of_the_same_conversion_finds_nothing(client, sent_email):
    email, show, fan = sent_email
    client.get(reverse("notifications:click", args=[click_token(email.pk)]))

    assert conversions_record(user_id=fan.pk, show_id=show.pk) == 1
    assert conversions_record(user_id=fan.pk, show_id=show.pk) == 0
    assert Event.objects.filter(event="notification_converted", user_id=fan.pk).count() == 1

"""Digest mode: low-priority items wait as held rows until the user's digest time, then go
as one message listing them all; urgent ones never wait."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from notifications.models import Delivery, Notification, NotificationPreference
from notifications.sending.digests import digests_send
from notifications.services import notify
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)  # a Monday, in the past


def tell(user, category, key, show):
    notify(
        category=category, user_ids=[user.pk], key=key, now=NOW,
        context={"artist": "The Band", "show": show, "venue": show, "date": "May 1", "url": "/"},
    )  # fmt: skip


@pytest.fixture
def digest_fan():
    fan = UserFactory(timezone=ZoneInfo("America/New_York"))
    NotificationPreference.objects.create(user=fan, digest="daily", digest_hour=8)
    return fan


def test_held_items_go_as_one_digest_at_the_users_hour(
    digest_fan, django_capture_on_commit_callbacks
):
    tell(digest_fan, "show_announced", "a:1", "Chicago")
    tell(digest_fan, "setlist_posted", "b:1", "Boston")
    tell(digest_fan, "voting_closing", "c:1", "Denver")  # urgent: now
    held = Delivery.objects.filter(status="held")
    assert held.count() == 2
    # It is 07:00 in New York: the digest goes at 08:00 there.
    due = dt.datetime(2026, 11, 16, 13, 0, tzinfo=dt.UTC)
    assert {d.not_before for d in held} == {due}
    assert [m.subject for m in mail.outbox] == []  # nothing sent in the test yet

    assert digests_send(now=due - dt.timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send(now=due) == 1
        assert digests_send(now=due) == 0  # the held rows are taken

    digest = Notification.objects.get(category="digest")
    assert digest.context["items"] == [
        "The Band will play Chicago on May 1.",
        "The setlist of Boston is posted.",
    ]
    assert set(Delivery.objects.filter(status="skipped").values_list("digest", flat=True)) == {
        digest.pk
    }
    emails = [m for m in mail.outbox if m.subject.startswith("Your MySetlist digest")]
    assert len(emails) == 1 and emails[0].subject == "Your MySetlist digest: 2 updates"
    assert "The Band will play Chicago on May 1." in emails[0].body


def test_an_unsubscribed_user_gets_no_digest_email(digest_fan):
    tell(digest_fan, "show_announced", "a:1", "Chicago")
    pref = NotificationPreference.objects.get(user=digest_fan)
    pref.unsubscribed_all = True
    pref.save()
    Delivery.objects.filter(status="held").update(status="skipped")  # what unsubscribe does

    assert digests_send(now=NOW + dt.timedelta(days=2)) == 0


def test_a_digest_recommends_upcoming_shows(digest_fan, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from mysetlist.setlists.models import Follow, Show
    from tests.setlists.factories import ArtistFactory, ShowFactory

    artist = ArtistFactory(name="Followed Band")
    Follow.objects.create(user=digest_fan, artist=artist)
    ShowFactory(artist=artist, status=Show.Status.VOTING_OPEN)
    cache.clear()
    tell(digest_fan, "show_announced", "a:1", "Chicago")
    due = dt.datetime(2026, 11, 16, 13, 0, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send(now=due) == 1
    digest = Notification.objects.get(category="digest")
    assert len(digest.context["recommended"]) == 1
    assert digest.context["recommended"][0].startswith("Followed Band, ")
    assert digest.context["recommended"][0].endswith(": you follow Followed Band")
    email = next(m for m in mail.outbox if m.subject.startswith("Your MySetlist digest"))
    assert "You might like:\n- Followed Band, " in email.body

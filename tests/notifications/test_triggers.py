"""Domain events reach followers: show announced, voting opened, closing soon and closed,
setlist posted; each once, however often the event or its fan-out repeats."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from mysetlist.setlists.models import Show
from mysetlist.setlists.services import show_create, show_transition
from notifications.models import Notification, Trigger
from notifications.sending.triggers import REDRIVE_AFTER, trigger_fanout, trigger_record
from notifications.tasks import triggers_redrive, voting_closing_triggers
from tests.setlists.factories import ArtistFactory, FollowFactory, ShowFactory, VenueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def artist_with_fans():
    artist = ArtistFactory(name="The Band")
    fans = [FollowFactory(artist=artist).user for _ in range(3)]
    FollowFactory()  # a fan of somebody else
    return artist, fans


def in_ten_days():
    return timezone.now().date() + dt.timedelta(days=10)


def told(category):
    return sorted(Notification.objects.filter(category=category).values_list("user_id", flat=True))


def test_a_new_upcoming_show_is_announced_to_followers(
    artist_with_fans, django_capture_on_commit_callbacks
):
    artist, fans = artist_with_fans

    with django_capture_on_commit_callbacks(execute=True):
        show = show_create(artist=artist, venue=VenueFactory(), date=in_ten_days())

    assert told("show_announced") == sorted(f.pk for f in fans)
    notification = Notification.objects.filter(category="show_announced").first()
    assert notification.context["artist"] == "The Band"
    assert notification.context["url"].endswith(show.get_absolute_url())
    assert Trigger.objects.get().done_at is not None
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f.email for f in fans)


def test_a_past_show_added_later_is_history_not_news(
    artist_with_fans, django_capture_on_commit_callbacks
):
    artist, _ = artist_with_fans
    with django_capture_on_commit_callbacks(execute=True):
        show_create(artist=artist, date=timezone.now().date() - dt.timedelta(days=30))
        show_create(artist=artist, date=in_ten_days(), status=Show.Status.COMPLETED)

    assert not Trigger.objects.exists()


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (Show.Status.VOTING_OPEN, "voting_opened"),
        (Show.Status.LOCKED, "voting_closed"),
        (Show.Status.COMPLETED, "setlist_posted"),
    ],
)
def test_each_status_change_tells_followers_once(
    artist_with_fans, status, category, django_capture_on_commit_callbacks
):
    artist, fans = artist_with_fans
    show = ShowFactory(artist=artist)  # not captured: no announcement in this test

    with django_capture_on_commit_callbacks(execute=True):
        show_transition(show=show, status=status)
    with django_capture_on_commit_callbacks(execute=True):
        assert trigger_record(category=category, show=show) is None  # told already

    assert told(category) == sorted(f.pk for f in fans)


def test_a_refused_status_change_tells_nobody(artist_with_fans):
    artist, _ = artist_with_fans
    show = ShowFactory(artist=artist, status=Show.Status.LOCKED)
    with pytest.raises(Exception, match="cannot go"):
        show_transition(show=show, status=Show.Status.VOTING_OPEN)
    assert not Trigger.objects.exclude(category="show_announced").exists()


def test_voting_closing_soon_is_told_once_on_the_shows_last_day(
    artist_with_fans, django_capture_on_commit_callbacks
):
    artist, fans = artist_with_fans
    venue = VenueFactory(timezone="Europe/Berlin")
    today = timezone.now().astimezone(venue.timezone).date()
    closing = ShowFactory(artist=artist, venue=venue, date=today, status="voting_open")
    ShowFactory(artist=artist, venue=venue, date=today + dt.timedelta(days=5), status="voting_open")

    with django_capture_on_commit_callbacks(execute=True):
        assert voting_closing_triggers() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert voting_closing_triggers() == 0

    assert Trigger.objects.get(category="voting_closing").show == closing
    assert told("voting_closing") == sorted(f.pk for f in fans)


def test_a_lost_fanout_is_redriven_and_tells_only_who_was_missed(artist_with_fans):
    artist, fans = artist_with_fans
    show = show_create(artist=artist, date=in_ten_days())  # its enqueue is "lost": never run
    trigger = Trigger.objects.get(category="show_announced")
    assert not Notification.objects.exists()

    Trigger.objects.filter(pk=trigger.pk).update(
        created_at=timezone.now() - REDRIVE_AFTER - dt.timedelta(seconds=1)
    )
    assert triggers_redrive() == 1
    assert told("show_announced") == sorted(f.pk for f in fans)

    # A fan-out that died after telling some: the rerun adds only the rest, once.
    late = FollowFactory(artist=artist).user
    Trigger.objects.filter(pk=trigger.pk).update(done_at=None)
    assert trigger_fanout(trigger_id=trigger.pk) == 1
    assert told("show_announced") == sorted([f.pk for f in fans] + [late.pk])
    assert triggers_redrive() == 0
    assert show.notification_triggers.count() == 1

"""Delivery timing: a non-urgent delivery waits for its recipient's next likely open hour,
within their quiet hours, a maximum delay and the news's relevance; urgent ones and users
without a trusted profile go at once; the dispatch claims a timed row only once it is due."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from notifications.delivery.outbox import deliveries_claim, deliveries_send
from notifications.models import Delivery, Notification, NotificationPreference, OpenHourProfile
from notifications.planning.timing import next_open_hour
from notifications.sending.digests import digests_send
from notifications.services import notify
from notifications.tasks import open_hours_refresh
from notifications.timing.profiles import open_hours_refresh_batch
from notifications.timing.scheduling import MAX_DELAY
from tests.setlists.factories import ShowFactory, UserFactory, VenueFactory

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # 07:00 in New York, 17:30 in Kolkata
CONTEXT = {
    "artist": "The Band", "show": "The Band at The Hall", "venue": "The Hall, Chicago",
    "date": "December 1, 2026", "url": "/shows/1/",
}  # fmt: skip


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def local(zone, *args):
    return dt.datetime(*args, tzinfo=zone).astimezone(UTC)


# The pure step: next_open_hour.


def test_next_open_hour_waits_for_the_next_likely_local_hour_in_new_york_and_kolkata():
    latest = NOW + MAX_DELAY
    assert next_open_hour(NOW, NEW_YORK, {18}, latest=latest) == local(NEW_YORK, 2026, 11, 16, 18)
    # Kolkata is 05:30 ahead: its 21:00 is 15:30 UTC.
    assert next_open_hour(NOW, KOLKATA, {21}, latest=latest) == utc(2026, 11, 16, 15, 30)


def test_next_open_hour_is_now_inside_a_likely_hour():
    assert next_open_hour(NOW, NEW_YORK, {7, 19}, latest=NOW + MAX_DELAY) == NOW


def test_next_open_hour_never_waits_past_latest():
    # 05:00 tomorrow in New York is 22 hours away: it goes at once.
    assert next_open_hour(NOW, NEW_YORK, {5}, latest=NOW + MAX_DELAY) == NOW
    assert next_open_hour(NOW, NEW_YORK, {19}, latest=NOW - dt.timedelta(hours=1)) == NOW


def test_next_open_hour_keeps_out_of_quiet_hours():
    quiet = {"quiet_start": dt.time(11), "quiet_end": dt.time(13, 30)}
    latest = NOW + MAX_DELAY
    # 12:00 is quiet all through; 13:00 is likely and quiet until 13:30.
    assert next_open_hour(NOW, NEW_YORK, {12, 13}, latest=latest, **quiet) == local(
        NEW_YORK, 2026, 11, 16, 13, 30
    )
    # Only quiet likely hours within reach: at once (the planner already left quiet hours).
    assert next_open_hour(NOW, NEW_YORK, {12}, latest=latest, **quiet) == NOW


def test_next_open_hour_follows_daylight_saving_changes():
    far = dt.timedelta(hours=40)
    # Spring forward, 8 March 2026: 02:00 never happens; 03:00 EDT comes 1.5 h after 00:30 EST.
    start = local(NEW_YORK, 2026, 3, 8, 0, 30)
    assert next_open_hour(start, NEW_YORK, {3}, latest=start + far) == utc(2026, 3, 8, 7)
    assert next_open_hour(start, NEW_YORK, {2}, latest=start + far) == utc(2026, 3, 9, 6)
    # Fall back, 1 November 2026: the first 01:00 (EDT) is the one; 02:00 EST is 2.5 h later.
    start = local(NEW_YORK, 2026, 11, 1, 0, 30)
    assert next_open_hour(start, NEW_YORK, {1}, latest=start + far) == utc(2026, 11, 1, 5)
    assert next_open_hour(start, NEW_YORK, {2}, latest=start + far) == utc(2026, 11, 1, 7)


# Profiles from engagement history.


def engagement(user, hour, zone, days=range(1, 11), clicked=True):
    """Deliveries the user engaged with at `hour` local on each of `days` before NOW."""
    for day in days:
        moment = local(zone, *(NOW - dt.timedelta(days=day)).timetuple()[:3], hour, 10)
        notification = Notification.objects.create(
            user=user, category="setlist_posted", key=f"past:{user.pk}:{hour}:{day}",
            context=CONTEXT, created_at=moment - dt.timedelta(hours=1),
        )  # fmt: skip
        Delivery.objects.create(
            notification=notification, channel="email", status="delivered",
            sent_at=moment - dt.timedelta(hours=1), opened_at=moment,
            clicked_at=moment if clicked else None,
        )  # fmt: skip


def profile(user, likely, zone=None):
    return OpenHourProfile.objects.create(
        user=user, timezone=str(zone or user.timezone), likely=sorted(likely),
        best_hour=min(likely), shares=[1 / 24] * 24, evidence=10, engagements=10,
        confidence=0.5, computed_at=NOW,
    )  # fmt: skip


@pytest.mark.django_db
def test_refresh_batch_stores_each_users_local_open_hours():
    new_yorker = UserFactory(timezone=NEW_YORK)
    indian = UserFactory(timezone=KOLKATA)
    lurker = UserFactory()
    engagement(new_yorker, 19, NEW_YORK)
    engagement(indian, 21, KOLKATA)
    engagement(lurker, 9, UTC, days=[3], clicked=False)  # one open: too little

    assert open_hours_refresh_batch(user_ids=[new_yorker.pk, indian.pk, lurker.pk], now=NOW) == 3

    stored = {p.user_id: p for p in OpenHourProfile.objects.all()}
    assert stored[new_yorker.pk].best_hour == 19
    assert stored[new_yorker.pk].likely[0] == 19
    assert stored[new_yorker.pk].timezone == "America/New_York"
    assert stored[indian.pk].likely[0] == 21
    assert stored[indian.pk].engagements == 10
    assert stored[lurker.pk].likely == []  # kept, not trusted
    assert stored[lurker.pk].best_hour == 9


@pytest.mark.django_db
def test_refresh_batch_replaces_a_profile_and_drops_one_without_engagement():
    fan, gone = UserFactory(timezone=NEW_YORK), UserFactory()
    profile(fan, {3})
    profile(gone, {4})
    engagement(fan, 20, NEW_YORK)

    open_hours_refresh_batch(user_ids=[fan.pk, gone.pk], now=NOW)
    open_hours_refresh_batch(user_ids=[fan.pk, gone.pk], now=NOW)  # a rerun changes nothing

    assert list(OpenHourProfile.objects.values_list("user_id", "best_hour")) == [(fan.pk, 20)]


@pytest.mark.django_db
def test_refresh_batch_reads_and_writes_in_a_few_queries_however_many_users(
    django_assert_num_queries,
):
    fans = [UserFactory(timezone=(NEW_YORK, KOLKATA)[n % 2]) for n in range(12)]
    for n, fan in enumerate(fans):
        engagement(fan, 8 + n, fan.timezone, days=range(1, 6))

    # Users, engagements, stale profiles deleted, profiles upserted (and the savepoint).
    with django_assert_num_queries(6):
        assert open_hours_refresh_batch(user_ids=[f.pk for f in fans], now=NOW) == 12


@pytest.mark.django_db
def test_open_hours_refresh_task_fans_out_batches(monkeypatch, settings):
    from notifications.timing import profiles

    monkeypatch.setattr(profiles, "BATCH", 2)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    fans = [UserFactory(timezone=NEW_YORK) for _ in range(5)]
    for fan in fans:
        engagement(fan, 19, NEW_YORK, days=range(1, 8))
    idle = UserFactory()
    profile(idle, {5})  # its engagement is gone: cleared

    # The deliveries are recent to the real clock too: the task reads with the time now.
    assert open_hours_refresh.apply().get() == 6

    assert set(OpenHourProfile.objects.values_list("user_id", flat=True)) == {f.pk for f in fans}


# Scheduling through notify().


def tell(users, category="show_announced", key="show_announced:1", context=CONTEXT, now=NOW):
    return notify(category=category, user_ids=[u.pk for u in users], key=key, context=context,
                  now=now)  # fmt: skip


def due(user, channel="email"):
    return Delivery.objects.get(notification__user=user, channel=channel).not_before


@pytest.mark.django_db
def test_a_non_urgent_delivery_waits_for_the_users_open_hour_and_in_app_goes_now():
    new_yorker = UserFactory(timezone=NEW_YORK)
    indian = UserFactory(timezone=KOLKATA)
    profile(new_yorker, {18, 19})
    profile(indian, {21})

    tell([new_yorker, indian])

    assert due(new_yorker) == local(NEW_YORK, 2026, 11, 16, 18)
    assert due(indian) == utc(2026, 11, 16, 15, 30)
    assert due(new_yorker, "in_app") == NOW
    assert due(indian, "in_app") == NOW


@pytest.mark.django_db
def test_users_without_a_trusted_profile_are_told_at_once():
    nobody, untrusted = UserFactory(timezone=NEW_YORK), UserFactory(timezone=NEW_YORK)
    OpenHourProfile.objects.create(
        user=untrusted, timezone="America/New_York", likely=[], best_hour=19,
        shares=[1 / 24] * 24, evidence=1, engagements=2, confidence=0.05, computed_at=NOW,
    )  # fmt: skip

    tell([nobody, untrusted])

    assert due(nobody) == NOW
    assert due(untrusted) == NOW


@pytest.mark.django_db
def test_a_profile_of_another_timezone_is_not_used():
    moved = UserFactory(timezone=NEW_YORK)
    profile(moved, {18}, zone=KOLKATA)

    tell([moved])

    assert due(moved) == NOW


@pytest.mark.django_db
def test_urgent_categories_go_at_once():
    fan = UserFactory(timezone=NEW_YORK)
    profile(fan, {18})

    tell([fan], category="voting_closing", key="voting_closing:1")

    assert due(fan) == NOW


@pytest.mark.django_db
def test_never_later_than_the_maximum_delay():
    fan = UserFactory(timezone=NEW_YORK)
    profile(fan, {5})  # 05:00 in New York is 22 hours away

    tell([fan])

    assert due(fan) == NOW


@pytest.mark.django_db
def test_quiet_hours_come_first_then_the_open_hour():
    fan = UserFactory(timezone=NEW_YORK)
    NotificationPreference.objects.create(user=fan, quiet_start=dt.time(22), quiet_end=dt.time(9))
    late = UserFactory(timezone=NEW_YORK)
    NotificationPreference.objects.create(
        user=late, quiet_start=dt.time(11), quiet_end=dt.time(13, 30)
    )
    profile(fan, {10})
    profile(late, {12, 13})

    tell([fan, late])

    # 07:00 is quiet until 09:00; the open hour is 10:00.
    assert due(fan) == local(NEW_YORK, 2026, 11, 16, 10)
    # 12:00 is quiet; 13:00 is likely but quiet until 13:30.
    assert due(late) == local(NEW_YORK, 2026, 11, 16, 13, 30)


@pytest.mark.django_db
def test_news_of_a_show_never_waits_past_voting_closing():
    # Voting closes at midnight in Kolkata after the show: 18:30 UTC on 16 November, and
    # news of it waits until an hour before at the latest (12:30 in New York).
    venue = VenueFactory(city="Mumbai", timezone="Asia/Kolkata")
    show = ShowFactory(date=dt.date(2026, 11, 16), venue=venue, voting_open=True)
    context = {**CONTEXT, "show_id": show.pk}
    in_time, too_late = UserFactory(timezone=NEW_YORK), UserFactory(timezone=NEW_YORK)
    profile(in_time, {11})
    profile(too_late, {13})

    tell([in_time, too_late], category="voting_opened", key="voting_opened:1", context=context)

    assert due(in_time) == local(NEW_YORK, 2026, 11, 16, 11)
    assert due(too_late) == NOW
    # A setlist is as good later: only the maximum delay holds it.
    tell([too_late], category="setlist_posted", key="setlist_posted:1", context=context)
    setlist = Delivery.objects.get(notification__key__startswith="setlist_posted", channel="email")
    assert setlist.not_before == local(NEW_YORK, 2026, 11, 16, 13)


@pytest.mark.django_db
def test_the_setting_can_turn_timing_off(settings):
    settings.NOTIFICATIONS_DELIVERY_TIMING = "immediate"
    fan = UserFactory(timezone=NEW_YORK)
    profile(fan, {18})

    tell([fan])

    assert due(fan) == NOW


@pytest.mark.django_db
def test_a_digest_goes_at_the_next_open_hour_after_its_hour(django_capture_on_commit_callbacks):
    timed, plain = UserFactory(timezone=NEW_YORK), UserFactory(timezone=NEW_YORK)
    for fan in (timed, plain):
        NotificationPreference.objects.create(user=fan, digest="daily", digest_hour=8)
    profile(timed, {10})
    tell([timed, plain])  # held for the 08:00 digest
    digest_time = local(NEW_YORK, 2026, 11, 16, 8)
    assert set(Delivery.objects.filter(status="held").values_list("not_before", flat=True)) == {
        digest_time
    }

    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send(now=digest_time) == 2

    digests = Delivery.objects.filter(notification__category="digest")
    assert digests.get(notification__user=timed).not_before == local(NEW_YORK, 2026, 11, 16, 10)
    assert digests.get(notification__user=plain).not_before == digest_time


@pytest.mark.django_db
def test_the_dispatch_claims_a_timed_delivery_only_once_it_is_due():
    fan = UserFactory(timezone=NEW_YORK)
    profile(fan, {18})
    tell([fan])
    email = Delivery.objects.get(notification__user=fan, channel="email")
    in_app = Delivery.objects.get(notification__user=fan, channel="in_app")
    six_pm = local(NEW_YORK, 2026, 11, 16, 18)

    assert deliveries_claim(now=NOW) == [in_app.pk]
    deliveries_send(ids=[in_app.pk])
    assert deliveries_claim(now=six_pm - dt.timedelta(seconds=1)) == []
    assert deliveries_claim(now=six_pm) == [email.pk]
    deliveries_send(ids=[email.pk])

    email.refresh_from_db()
    assert email.status == "sent"
    assert [m.to for m in mail.outbox] == [[fan.email]]

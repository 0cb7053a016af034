"""The person tables: one person per account, re-folding, policy, racing reads."""

import datetime as dt

import pytest
from django.utils import timezone

from analytics.metrics import funnel, funnel_first_time, retention
from analytics.models import DistinctIdLink, Person, PersonActivity, PersonFirstEvent
from analytics.rollups.passes import rollups_process, rollups_rebuild
from analytics.services import events_ingest, track
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def send(name, distinct_id, moment, n, now=None, **props):
    events_ingest(
        body={
            "event": name,
            "distinct_id": distinct_id,
            "message_id": f"m{n}",
            "timestamp": moment.isoformat(),
            "properties": props,
        },
        received_at=now or timezone.now(),
    )


def snapshot():
    return (
        sorted(Person.objects.values_list("id", "key", "first_seen", "signed_up")),
        sorted(PersonFirstEvent.objects.values_list("id", "person_id", "event", "first_at")),
        sorted(PersonActivity.objects.values_list("id", "person_id", "period", "start", "event")),
    )


def test_browsing_then_signing_up_is_one_person_even_after_a_full_rebuild():
    """Browsing folded by the day job before the browser is linked at sign-up: one person."""
    fan = UserFactory()
    now = timezone.now()
    browser = "0123456789abcdef0123456789abcdef"
    earlier = now - dt.timedelta(hours=30)
    send("$pageview", browser, earlier, 1)
    rollups_process(granularity="day")  # the day job folds the anonymous day
    DistinctIdLink.objects.create(distinct_id=browser, user=fan)  # login
    track(event="signed_up", user=fan)
    rollups_rebuild(start=earlier, end=now)  # even a full rebuild

    steps = funnel_first_time(
        steps=["$pageview", "signed_up"],
        window=dt.timedelta(days=3),
        start=earlier - dt.timedelta(hours=1),
        end=now,
    )
    sequence = funnel(
        steps=["$pageview", "signed_up"],
        window=dt.timedelta(days=3),
        start=earlier - dt.timedelta(hours=1),
        end=now,
    )[None]
    cohorts = retention(
        period="month",
        periods=1,
        first_day=earlier.date() - dt.timedelta(days=40),
        last_day=now.date(),
    )

    assert [s.persons for s in sequence] == [1, 1]
    assert [s.persons for s in steps] == [1, 1]
    assert sum(c.size for c in cohorts) == 1
    assert sorted(Person.objects.values_list("key", flat=True)) == [f"u:{fan.pk}"]


def test_refolding_a_day_changes_nothing():
    now = timezone.now()
    t = now - dt.timedelta(hours=3)
    send("$pageview", "fan", t, 1)
    send("vote_cast", "fan", t + dt.timedelta(minutes=5), 2)
    rollups_rebuild(start=t, end=now)
    before = snapshot()
    rollups_rebuild(start=t, end=now)
    rollups_process(granularity="day")
    assert snapshot() == before


@pytest.mark.parametrize("offset", [dt.timedelta(0), dt.timedelta(microseconds=1)])
def test_first_time_window_is_inclusive(offset):
    now = timezone.now().replace(microsecond=0)
    t0 = now - dt.timedelta(hours=5)
    window = dt.timedelta(hours=2)
    send("$pageview", "fan", t0 + offset, 1)
    send("vote_cast", "fan", t0 + offset + window, 2)
    send("$pageview", "fan2", t0 + offset, 3)
    send("vote_cast", "fan2", t0 + offset + window + dt.timedelta(microseconds=1), 4)
    rollups_rebuild(start=t0, end=now)
    steps = funnel_first_time(
        steps=["$pageview", "vote_cast"], window=window, start=t0 - dt.timedelta(hours=1), end=now
    )
    assert [s.persons for s in steps] == [2, 1]


def test_signing_up_the_same_day_as_browsing_is_one_person():
    """The everyday flow: browse anonymously, the 5-minute day job runs, log in (the browser
    is linked), the day job runs again over the same (dirty) day. DailyUserStats, replaced
    whole, says one person; the add-only person tables keep a second, anonymous one."""
    from analytics.models import DailyUserStats

    fan = UserFactory()
    now = timezone.now()
    browser = "0123456789abcdef0123456789abcdef"
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    send("$pageview", browser, max(now - dt.timedelta(minutes=20), midnight), 1, now=now)
    rollups_process(granularity="day")
    DistinctIdLink.objects.create(distinct_id=browser, user=fan)
    track(event="signed_up", user=fan)
    rollups_process(granularity="day")

    week = retention(period="week", periods=1, first_day=now.date(), last_day=now.date())

    assert list(DailyUserStats.objects.values_list("person", flat=True)) == [f"u:{fan.pk}"]
    assert [(c.size, c.returning) for c in week] == [(1, [1])]


def test_person_activity_retention_keeps_a_period_that_is_still_within_the_policy(settings):
    """Retention deletes activity rows by their period's *start*: a month (or week) whose
    start is before the cutoff goes whole, though most of its days are still kept elsewhere."""
    from analytics.lifecycle.retention import retention_apply
    from analytics.models import DailyUserStats

    settings.ANALYTICS_AGGREGATE_RETENTION_DAYS = {"daily_user_stats": 30, "person_activity": 30}
    active_day = dt.date(2026, 3, 20)
    send(
        "$pageview",
        "fan",
        dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC),
        1,
        now=dt.datetime(2026, 3, 20, 12, 5, tzinfo=dt.UTC),
    )
    rollups_rebuild(
        start=dt.datetime(2026, 3, 20, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 20, 23, tzinfo=dt.UTC),
    )
    now = dt.datetime(2026, 4, 14, 12, tzinfo=dt.UTC)  # cutoff 2026-03-15
    retention_apply(now=now)

    assert DailyUserStats.objects.filter(day=active_day).exists()  # kept: after the cutoff
    cohorts = retention(
        period="month", periods=1, first_day=dt.date(2026, 3, 1), last_day=dt.date(2026, 3, 31)
    )
    assert [(c.size, c.returning) for c in cohorts] == [(1, [1])]


def test_retention_survives_a_day_job_committing_between_its_two_queries(monkeypatch):
    """sizes and active are two statements; on PostgreSQL (READ COMMITTED) the day job can
    commit a new person, in a cohort `sizes` has not seen, in between: KeyError, a 500."""
    from analytics.metrics import people

    now = timezone.now()
    send("$pageview", "old-fan", now - dt.timedelta(days=14), 1)
    rollups_rebuild(start=now - dt.timedelta(days=14), end=now - dt.timedelta(days=14))
    real = people.PersonActivity.objects.filter

    def filter_after_a_commit(*args, **kwargs):
        send("$pageview", "new-fan", now - dt.timedelta(minutes=5), 2)
        rollups_rebuild(start=now, end=now)  # what the day job commits meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(people.PersonActivity.objects, "filter", filter_after_a_commit)
    retention(
        period="week", periods=3, first_day=now.date() - dt.timedelta(days=20), last_day=now.date()
    )

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from analytics.lifecycle import partitions
from analytics.lifecycle.retention import retention_apply
from analytics.models import Event, EventMessageKey
from analytics.services import events_ingest

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def ingest(*stamps, received_at=NOW):
    body = {"batch": [
        {"event": "e", "distinct_id": "d", "message_id": f"m-{stamp}", "timestamp": stamp}
        for stamp in stamps
    ]}  # fmt: skip
    return events_ingest(body=body, received_at=received_at)


def where_rows_are() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text, count(*) FROM {partitions.TABLE} GROUP BY 1"
        )
        return dict(cursor.fetchall())


@pytest.mark.postgres
def test_partitions_are_made_ahead_and_rows_leave_the_default_partition():
    ingest("2020-05-03T10:00:00Z", "2026-11-20T10:00:00Z")
    assert where_rows_are() == {f"{partitions.TABLE}_default": 2}

    made = partitions.event_partitions_ensure(today=NOW.date(), months_ahead=2)

    assert made == [
        f"{partitions.TABLE}_p{m}" for m in ("202005", "202610", "202611", "202612", "202701")
    ]
    assert where_rows_are() == {f"{partitions.TABLE}_p202005": 1, f"{partitions.TABLE}_p202611": 1}
    assert partitions.event_partitions_ensure(today=NOW.date(), months_ahead=2) == []
    ingest("2026-12-24T20:00:00Z", received_at=dt.datetime(2026, 12, 24, 21, 0, tzinfo=dt.UTC))
    assert where_rows_are()[f"{partitions.TABLE}_p202612"] == 1


@pytest.mark.postgres
def test_retention_drops_expired_partitions_and_trims_the_default(settings):
    settings.ANALYTICS_RAW_RETENTION_DAYS = 730
    ingest("2023-03-10T00:00:00Z", "2026-11-01T00:00:00Z")
    partitions.event_partitions_ensure(today=NOW.date(), months_ahead=1)
    ingest("2024-01-05T00:00:00Z")  # no partition for that month: stays in the default one

    dry = retention_apply(now=NOW, dry_run=True)
    assert (dry[0].rows, dry[0].partitions) == (1, [f"{partitions.TABLE}_p202303"])
    assert Event.objects.count() == 3

    retention_apply(now=NOW)

    assert list(Event.objects.values_list("message_id", flat=True)) == ["m-2026-11-01T00:00:00Z"]
    assert f"{partitions.TABLE}_p202303" not in partitions._existing()


def test_retention_on_any_database_deletes_old_events_and_old_message_ids(settings):
    settings.ANALYTICS_RAW_RETENTION_DAYS = 30
    settings.ANALYTICS_DEDUPE_DAYS = 35
    ingest("2026-09-01T00:00:00Z", received_at=NOW - dt.timedelta(days=40))
    ingest("2026-11-20T00:00:00Z")

    dry = {r.table: r.rows for r in retention_apply(now=NOW, dry_run=True)}
    assert (dry["analytics_event"], dry["analytics_eventmessagekey"]) == (1, 1)
    assert Event.objects.count() == 2

    retention_apply(now=NOW)

    assert list(Event.objects.values_list("message_id", flat=True)) == ["m-2026-11-20T00:00:00Z"]
    assert EventMessageKey.objects.count() == 1
    assert list(Event.objects.values_list("message_id", flat=True)) == ["m-2026-11-20T00:00:00Z"]


def test_retention_command_dry_run(capsys):
    from django.core.management import call_command

    ingest("2020-01-01T00:00:00Z", received_at=timezone.now())
    call_command("analytics_retention", "--dry-run")

    assert "would delete 1 rows" in capsys.readouterr().out
    assert Event.objects.count() == 1


def test_aggregates_are_kept_longer_and_each_by_its_own_policy(settings):
    from analytics.models import (
        EventRollup,
        PageMoveDay,
        Person,
        PersonActivity,
        PersonFirstEvent,
        RollupRun,
        SessionDay,
        TimelineMinute,
    )

    settings.ANALYTICS_AGGREGATE_RETENTION_DAYS = {
        "rollups_minute": 35, "rollups_hour": 1100, "rollups_day": 0, "daily_user_stats": 1100,
        "person_activity": 30, "persons": 30, "rollup_runs": 30, "timeline": 30,
        "session_days": 30, "page_move_days": 30,
    }  # fmt: skip
    old = NOW - dt.timedelta(days=40)
    for granularity in ("minute", "hour", "day"):
        EventRollup.objects.create(
            granularity=granularity, bucket=old, event="e", count=1, persons=1
        )
    RollupRun.objects.create(granularity="minute", finished_at=old, buckets=1, max_lag_ms=5)
    person = Person.objects.create(key="a:x", first_seen=old.date())
    for start in (old.date(), NOW.date()):
        PersonActivity.objects.create(person=person, period="week", start=start, event="")
    gone = Person.objects.create(key="a:gone", first_seen=old.date())
    PersonActivity.objects.create(person=gone, period="week", start=old.date(), event="")
    PersonFirstEvent.objects.create(person=gone, event="e", first_at=old)

    for moment in (old, NOW - dt.timedelta(days=29)):
        TimelineMinute.objects.create(event="e", minute=moment, moments=b"")
        SessionDay.objects.create(day=moment.date(), sessions=1, seconds=0, pageviews=1,
                                  bounces=1, lengths=b"")  # fmt: skip
        PageMoveDay.objects.create(day=moment.date(), source="/", target="/a/", moves=1)

    dry = {r.table: r.rows for r in retention_apply(now=NOW, dry_run=True)}
    assert dry["persons"] == 1 and Person.objects.count() == 2
    assert dry["timeline"] == 1 and TimelineMinute.objects.count() == 2

    results = {r.table: r.rows for r in retention_apply(now=NOW)}

    assert results["rollups_minute"] == 1 and results["rollups_hour"] == 0
    assert results["rollup_runs"] == 1 and "rollups_day" not in results  # kept for good
    assert results["person_activity"] == 2 and results["persons"] == 1
    assert results["timeline"] == 1
    assert results["session_days"] == 1 and results["page_move_days"] == 1
    assert list(SessionDay.objects.values_list("day", flat=True)) == [
        (NOW - dt.timedelta(days=29)).date()
    ]
    assert PageMoveDay.objects.get().day == (NOW - dt.timedelta(days=29)).date()
    assert list(TimelineMinute.objects.values_list("minute", flat=True)) == [
        NOW - dt.timedelta(days=29)
    ]
    assert list(Person.objects.values_list("key", flat=True)) == ["a:x"]  # has a recent week
    assert not PersonFirstEvent.objects.exists()
    assert sorted(EventRollup.objects.values_list("granularity", flat=True)) == ["day", "hour"]

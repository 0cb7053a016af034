"""Retention: how long each analytics table keeps its rows, applied by beat with a dry run."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from analytics.lifecycle import partitions
from analytics.models import (
    DailyUserStats,
    Event,
    EventMessageKey,
    EventRollup,
    PageMoveDay,
    Person,
    PersonActivity,
    RollupRun,
    SessionDay,
    TimelineMinute,
)


@dataclass(frozen=True)
class RetentionResult:
    table: str
    keep_days: int
    cutoff: dt.datetime
    rows: int  # deleted, or that would be with dry_run
    partitions: list[str]  # dropped, or that would be


def _raw_events(now: dt.datetime, dry_run: bool) -> RetentionResult:
    days = settings.ANALYTICS_RAW_RETENTION_DAYS
    cutoff = now - dt.timedelta(days=days)
    expired = partitions.event_partitions_expired(cutoff=cutoff)
    if connection.vendor == "postgresql":
        # Whole months go as partitions; the default partition is trimmed row by row.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {partitions.TABLE}_default WHERE timestamp < %s", [cutoff]
            )
            rows = cursor.fetchone()[0]
            if not dry_run:
                cursor.execute(
                    f"DELETE FROM {partitions.TABLE}_default WHERE timestamp < %s", [cutoff]
                )
                partitions.event_partitions_drop(names=expired)
    else:
        old = Event.objects.filter(timestamp__lt=cutoff)
        rows = old.count() if dry_run else old.delete()[0]
    return RetentionResult(Event._meta.db_table, days, cutoff, rows, expired)


def _message_ids(now: dt.datetime, dry_run: bool) -> RetentionResult:
    days = settings.ANALYTICS_DEDUPE_DAYS
    cutoff = now - dt.timedelta(days=days)
    old = EventMessageKey.objects.filter(received_at__lt=cutoff)
    rows = old.count() if dry_run else old.delete()[0]
    return RetentionResult(EventMessageKey._meta.db_table, days, cutoff, rows, [])


def _activity_ended(cutoff: dt.datetime) -> Q:
    """A week or month goes once it has wholly ended before the cutoff."""
    return Q(period="week", start__lte=cutoff.date() - dt.timedelta(days=7)) | Q(
        period="month", start__lt=cutoff.date().replace(day=1)
    )


def _activity_expired(cutoff: dt.datetime):
    return PersonActivity.objects.filter(_activity_ended(cutoff))


def _aggregates(now: dt.datetime, dry_run: bool) -> list[RetentionResult]:
    """Aggregates outlive raw events; minute rollups go first, being the most numerous.
    Each table names its rows expired before a cutoff."""
    policies = settings.ANALYTICS_AGGREGATE_RETENTION_DAYS
    expired = {
        "rollups_minute": lambda cutoff: EventRollup.objects.filter(
            granularity="minute", bucket__lt=cutoff
        ),
        "rollups_hour": lambda cutoff: EventRollup.objects.filter(
            granularity="hour", bucket__lt=cutoff
        ),
        "rollups_day": lambda cutoff: EventRollup.objects.filter(
            granularity="day", bucket__lt=cutoff
        ),
        "timeline": lambda cutoff: TimelineMinute.objects.filter(minute__lt=cutoff),
        "daily_user_stats": lambda cutoff: DailyUserStats.objects.filter(day__lt=cutoff.date()),
        "session_days": lambda cutoff: SessionDay.objects.filter(day__lt=cutoff.date()),
        "page_move_days": lambda cutoff: PageMoveDay.objects.filter(day__lt=cutoff.date()),
        "rollup_runs": lambda cutoff: RollupRun.objects.filter(finished_at__lt=cutoff),
        "person_activity": _activity_expired,
        # A person goes, with their first times, once none of their activity is left.
        "persons": lambda cutoff: Person.objects.exclude(
            Exists(
                PersonActivity.objects.filter(person=OuterRef("pk")).exclude(
                    _activity_ended(cutoff)
                )
            )
        ),
    }
    results = []
    for name, rows_before in expired.items():
        days = policies.get(name)
        if not days:  # kept for good
            continue
        cutoff = now - dt.timedelta(days=days)
        old = rows_before(cutoff)
        # The table's own rows: a person's first times go with them, uncounted.
        rows = old.count() if dry_run else old.delete()[1].get(old.model._meta.label, 0)
        results.append(RetentionResult(name, days, cutoff, rows, []))
    return results


@transaction.atomic
def retention_apply(*, now: dt.datetime, dry_run: bool = False) -> list[RetentionResult]:
    """Delete what every retention policy says has expired; with dry_run, only count it."""
    return [_raw_events(now, dry_run), _message_ids(now, dry_run), *_aggregates(now, dry_run)]

"""Rollups: events per minute, hour and day by name and by artist, show and song.

A bucket is recomputed whole from the raw events, never incremented, so running a window
again gives the same numbers. Buckets to recompute are those marked by ingestion (see
RollupDirty); `rollups_rebuild` recomputes any range, for imports of old events.
"""

import datetime as dt
import zlib
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Concat, Left, Trunc
from django.utils import timezone

from .buckets import GRANULARITIES, STEP, bucket_start
from .models import (
    DailyUserStats,
    DistinctIdLink,
    Event,
    EventRollup,
    PlatformMetric,
    RollupDirty,
    RollupRun,
)

DIMENSIONS = ("artist_id", "show_id", "song_id")


@dataclass(frozen=True)
class RollupResult:
    granularity: str
    buckets: int
    max_lag_ms: int


def events_with_person(queryset=None):
    """Annotate events with `person`: "u:<user id>" for a known user (directly, or through a
    distinct id they logged in with), else "a:<distinct id>"."""
    linked = DistinctIdLink.objects.filter(distinct_id=OuterRef("distinct_id")).values("user_id")
    queryset = (queryset if queryset is not None else Event.objects.all()).annotate(
        linked_user=Subquery(linked[:1])
    )
    known = Coalesce("user_id", "linked_user")
    return queryset.annotate(
        person=Case(
            When(
                Q(user_id__isnull=False) | Q(linked_user__isnull=False),
                then=Concat(Value("u:"), Cast(known, CharField())),
            ),
            default=Concat(Value("a:"), F("distinct_id")),
            output_field=CharField(),
        )
    )


def _cells(granularity: str, start: dt.datetime, end: dt.datetime) -> list[EventRollup]:
    events = events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lt=end))
    events = events.annotate(bucket=Trunc("timestamp", granularity, tzinfo=dt.UTC))
    cells = []
    for dimension in ("", *DIMENSIONS):
        rows = events
        group = ["bucket", "event"]
        if dimension:
            # Cut to the column's size before grouping: two long values that agree on their
            # first 64 characters are one cell, not two rows fighting over one key.
            rows = rows.annotate(value=Left(KT(f"properties__{dimension}"), 64)).filter(
                value__isnull=False
            )
            group.append("value")
        for row in rows.values(*group).annotate(
            count=Count("id"), persons=Count("person", distinct=True)
        ):
            cells.append(
                EventRollup(
                    granularity=granularity,
                    bucket=row["bucket"],
                    event=row["event"],
                    dimension=dimension,
                    value=str(row.get("value", "")),
                    count=row["count"],
                    persons=row["persons"],
                )
            )
    return cells


def _daily_user_stats(start: dt.datetime, end: dt.datetime) -> list[DailyUserStats]:
    events = events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lt=end))
    rows = (
        events.annotate(day=Trunc("timestamp", "day", tzinfo=dt.UTC))
        .values("day", "person")
        .annotate(
            events=Count("id"),
            pageviews=Count("id", filter=Q(event="$pageview")),
            votes=Count("id", filter=Q(event="vote_cast")),
        )
    )
    return [
        DailyUserStats(
            day=row["day"].date(),
            person=row["person"],
            events=row["events"],
            pageviews=row["pageviews"],
            votes=row["votes"],
        )
        for row in rows
    ]


PLATFORM_EVENTS = {"pageviews": "$pageview", "votes": "vote_cast", "signups": "signed_up",
                   "follows": "artist_followed"}  # fmt: skip


def _platform_metrics(cells: list[EventRollup], stats: list[DailyUserStats]) -> list:
    """Per day: all events, distinct persons, and counts of the events that matter most."""
    values: dict[tuple[dt.date, str], int] = defaultdict(int)
    for cell in cells:
        if cell.dimension == "":
            day = cell.bucket.date()
            values[(day, "events")] += cell.count
            for name, event in PLATFORM_EVENTS.items():
                if cell.event == event:
                    values[(day, name)] += cell.count
    for row in stats:
        values[(row.day, "persons")] += 1
    return [PlatformMetric(day=d, name=n, value=v) for (d, n), v in sorted(values.items())]


def _recompute(granularity: str, start: dt.datetime, end: dt.datetime) -> None:
    cells = _cells(granularity, start, end)
    EventRollup.objects.filter(granularity=granularity, bucket__gte=start, bucket__lt=end).delete()
    EventRollup.objects.bulk_create(cells, batch_size=2000)
    if granularity == "day":
        stats = _daily_user_stats(start, end)
        DailyUserStats.objects.filter(day__gte=start.date(), day__lt=end.date()).delete()
        DailyUserStats.objects.bulk_create(stats, batch_size=2000)
        PlatformMetric.objects.filter(day__gte=start.date(), day__lt=end.date()).delete()
        PlatformMetric.objects.bulk_create(_platform_metrics(cells, stats))


def _ranges(buckets: list[dt.datetime], step: dt.timedelta):
    """Merge sorted bucket starts into [start, end) ranges of adjacent buckets."""
    ranges = []
    for bucket in buckets:
        if ranges and ranges[-1][1] == bucket:
            ranges[-1][1] = bucket + step
        else:
            ranges.append([bucket, bucket + step])
    return ranges


def _locked(granularity: str) -> bool:
    """One job per granularity at a time; SQLite's single writer needs no lock."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        key = zlib.crc32(f"analytics.rollups.{granularity}".encode())
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return cursor.fetchone()[0]


def _process_chunk(granularity: str, max_buckets: int) -> tuple[int, int] | None:
    """Recompute the earliest `max_buckets` marked buckets in one transaction; return how many
    and the lag of their oldest mark, or None when nothing is marked or another job runs."""
    with transaction.atomic():
        if not _locked(granularity):
            return None
        buckets = list(
            RollupDirty.objects.filter(granularity=granularity)
            .order_by("bucket")
            .values_list("bucket", flat=True)
            .distinct()[:max_buckets]
        )
        if not buckets:
            return None
        marks = list(
            RollupDirty.objects.filter(granularity=granularity, bucket__in=buckets).values_list(
                "id", "marked_at"
            )
        )
        oldest = min(marked for _, marked in marks)
        ids = [pk for pk, _ in marks]
        for start, end in _ranges(sorted(buckets), STEP[granularity]):
            _recompute(granularity, start, end)
        RollupDirty.objects.filter(id__in=ids).delete()
        finished = timezone.now()
        # Never negative, should a web server's clock run a little ahead of this worker's.
        lag = max(0, int((finished - oldest).total_seconds() * 1000))
        RollupRun.objects.create(
            granularity=granularity, finished_at=finished, buckets=len(buckets), max_lag_ms=lag
        )
        return len(buckets), lag


def rollups_process(
    *, granularity: str, max_buckets: int = 200, budget_seconds: float = 20.0
) -> RollupResult:
    """Recompute the buckets marked since the last run, `max_buckets` per transaction, until
    none are left or the time budget is spent, so a backlog drains a chunk at a time."""
    deadline = timezone.now() + dt.timedelta(seconds=budget_seconds)
    done, worst = 0, 0
    while True:
        chunk = _process_chunk(granularity, max_buckets)
        if chunk is None:
            break
        done, worst = done + chunk[0], max(worst, chunk[1])
        if timezone.now() >= deadline:
            break
    return RollupResult(granularity, done, worst)


@transaction.atomic
def rollups_rebuild(
    *, start: dt.datetime, end: dt.datetime, granularities: tuple[str, ...] = GRANULARITIES
) -> int:
    """Recompute the granularities over whole days from start to end; return the days."""
    first, last = bucket_start(start, "day"), bucket_start(end, "day") + STEP["day"]
    for granularity in granularities:
        _recompute(granularity, first, last)
    return (last - first).days

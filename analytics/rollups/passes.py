"""Rollups: events per minute, hour and day by name and by artist, show and song.

Two passes write the cells, both by adding to them, so neither waits for the other:

- The live pass (`rollups_live`, every second) adds the events of each newly stored batch
  (RollupBatch) to `count` in its minute, hour and day. It reads only those events, so its
  cost follows the rate of arrival, not the size of a bucket: counts are visible within
  seconds however busy the minute (the ingestion-lag metric). It leaves `persons` alone.
- The exact pass (`rollups_process`, per granularity) recomputes each bucket that ingestion
  marked (RollupDirty) from all its raw events, and adds to each cell the difference
  between that and what the cell holds, less what the live pass has yet to add (the events
  of batches still waiting). So `persons`, which no sum of batches can give, is exact once
  a bucket's exact pass has run, and so is everything else: running it again changes
  nothing, and late events or erased ones are folded in. Its lag is its own metric.

The exact pass reads all it adds in one statement, one snapshot: there each batch is either
still waiting, and left to the live pass, or counted already, so none counts twice or not at
all. A waiting batch's events do not change under the live pass: ingestion only adds events
of new batches, and an erasure waits for a running live pass (live_pass_wait).
`rollups_rebuild` runs the exact pass over any range, for imports of old events.
"""

import datetime as dt
import zlib
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from analytics.models import (
    DailyUserStats,
    Event,
    EventRollup,
    PageMoveDay,
    Person,
    PersonActivity,
    PersonFirstEvent,
    PlatformMetric,
    RollupBatch,
    RollupDirty,
    RollupRun,
    SessionDay,
    TimelineMinute,
)
from analytics.rollups.buckets import GRANULARITIES, STEP, bucket_start
from analytics.rollups.cells import (
    DIMENSIONS,
    cells_exact,
    cells_grouped,
    cells_increment,
    counted_live,
    lateness,
)
from analytics.rollups.people import (
    ACTIVE_NAMES,
    active_windows_store,
    daily_user_stats_insert,
    people_fold,
    platform_metrics,
)
from analytics.rollups.sessions import page_move_day_replace, session_day_replace
from analytics.rollups.timeline import timeline_replace


@dataclass(frozen=True)
class RollupResult:
    granularity: str
    buckets: int
    max_lag_ms: int


LIVE = "live"  # the live pass's lock


def _recompute(
    granularity: str, ranges: list[tuple[dt.datetime, dt.datetime]], *, windows: bool = True
) -> None:
    """The exact pass over the ranges: the tables it replaces, then the cells, then (by
    day) the platform metrics, which read them, and (unless `windows` is off) the active
    users' rolling windows those days are part of."""
    for start, end in ranges:
        _replace(granularity, start, end)
    cells_exact(granularity, ranges)
    if granularity == "day":
        for start, end in ranges:
            PlatformMetric.objects.filter(day__gte=start.date(), day__lt=end.date()).exclude(
                name__in=ACTIVE_NAMES
            ).delete()
            PlatformMetric.objects.bulk_create(platform_metrics(start, end))
        if windows:
            _windows_refresh(ranges[0][0], ranges[-1][1])


def _windows_refresh(start: dt.datetime, end: dt.datetime) -> None:
    """Recompute the stored WAU and MAU of the days whose windows hold a day from start to
    end: those days and the 29 after, up to today (later days get theirs with their own
    pass, or are counted when asked for)."""
    changed = (end - STEP["day"]).date()
    last = max(changed, min(changed + dt.timedelta(days=29), timezone.now().date()))
    active_windows_store(start.date(), last)


def _replace(granularity: str, start: dt.datetime, end: dt.datetime) -> None:
    """Replace what the exact pass keeps beside the cells: the timeline by minute; by day,
    the daily user stats, the day's sessions and page moves, and the person tables."""
    if granularity == "minute":
        timeline_replace(start, end)
    if granularity == "day":
        first, last = start.date(), end.date()
        DailyUserStats.objects.filter(day__gte=first, day__lt=last).delete()
        daily_user_stats_insert(start, end)
        session_day_replace(start, end)
        page_move_day_replace(start, end)
        people_fold(start, end)


def _ranges(buckets: list[dt.datetime], step: dt.timedelta):
    """Merge sorted bucket starts into [start, end) ranges of adjacent buckets."""
    ranges = []
    for bucket in buckets:
        if ranges and ranges[-1][1] == bucket:
            ranges[-1][1] = bucket + step
        else:
            ranges.append([bucket, bucket + step])
    return ranges


def _locked(granularity: str, *, wait: bool = False) -> bool:
    """One job per granularity at a time, held to the end of the transaction: False if
    another holds it, or with `wait`, once it lets go. SQLite's single writer needs none."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        key = zlib.crc32(f"analytics.rollups.{granularity}".encode())  # the same across releases
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return cursor.fetchone()[0]


def live_pass_wait() -> None:
    """Wait for a running live pass to finish, and keep the next from starting until this
    transaction ends: for a change to stored events, which must not fall between the live
    pass's reading a batch and the exact pass's taking that batch for still to come."""
    _locked(LIVE, wait=True)


def _process_chunk(
    granularity: str, max_buckets: int, *, since: dt.datetime | None = None
) -> tuple[int, int] | None:
    """Recompute the earliest `max_buckets` marked buckets in one transaction; return how many
    and the lag of their oldest mark, or None when nothing is marked or another job runs.
    The run records how long the pass has taken `since` it began (this chunk, by default)."""
    since = since or timezone.now()
    with transaction.atomic():
        if not _locked(granularity):
            return None
        if connection.vendor == "postgresql":
            # A background job: one core, not a parallel query's every core at once.
            workers = int(settings.ANALYTICS_EXACT_PASS_PARALLEL_WORKERS)
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL max_parallel_workers_per_gather = {workers}")
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
        _recompute(granularity, _ranges(sorted(buckets), STEP[granularity]))
        RollupDirty.objects.filter(id__in=ids).delete()
        finished = timezone.now()
        lag = _lag_ms(finished, oldest)
        RollupRun.objects.create(
            granularity=granularity, finished_at=finished, buckets=len(buckets), max_lag_ms=lag,
            seconds=(finished - since).total_seconds(),
        )  # fmt: skip
        return len(buckets), lag


def exact_pass_due(granularity: str, *, now: dt.datetime) -> bool:
    """Whether the exact pass by `granularity` may run again at `now`: after each run it
    rests ANALYTICS_EXACT_PASS_REST times as long as the run took (all its chunks). Under
    load the open bucket grows and each recomputation of it takes longer; resting in
    proportion keeps its share of the machine bounded, leaving the rest to ingestion and
    the live pass, and its lag (the exact one) grows instead."""
    last = (
        RollupRun.objects.filter(kind=RollupRun.Kind.EXACT, granularity=granularity)
        .order_by("-finished_at")
        .values_list("finished_at", "seconds")
        .first()
    )
    if last is None:
        return True
    finished, seconds = last
    rest = dt.timedelta(seconds=seconds * settings.ANALYTICS_EXACT_PASS_REST)
    return now >= finished + rest


def _lag_ms(finished: dt.datetime, oldest: dt.datetime) -> int:
    # Never negative, should a web server's clock run a little ahead of this worker's.
    return max(0, int((finished - oldest).total_seconds() * 1000))


def rollups_live(*, max_batches: int = 1000) -> RollupResult:
    """Add the events of the batches stored since the last run (at most `max_batches`, the
    oldest first) to the counts of their minute, hour and day, and delete the batches, in
    one transaction; the lag is the oldest batch's wait. One run at a time."""
    started = timezone.now()
    with transaction.atomic():
        if not _locked(LIVE):
            return RollupResult(LIVE, 0, 0)
        batches = list(
            RollupBatch.objects.order_by("id").values_list("id", "received_at")[:max_batches]
        )
        if not batches:
            return RollupResult(LIVE, 0, 0)
        ids = [pk for pk, _ in batches]
        oldest = min(received for _, received in batches)
        # Found by the index on batch; the lateness bound leaves out the older partitions.
        events = Event.objects.filter(batch__in=ids, timestamp__gte=oldest - lateness())
        events = events.filter(counted_live())
        # Read once, by minute; hours and days are sums of their minutes.
        counts: dict[tuple, int] = defaultdict(int)
        for dimension in ("", *DIMENSIONS):
            for minute, *cell, n in cells_grouped(events, "minute", dimension, n=Count("id")):
                for granularity in GRANULARITIES:
                    counts[(granularity, bucket_start(minute, granularity), *cell)] += n
        cells_increment(counts)
        RollupBatch.objects.filter(id__in=ids).delete()
        finished = timezone.now()
        lag = _lag_ms(finished, oldest)
        RollupRun.objects.create(
            kind=RollupRun.Kind.LIVE, granularity="minute", finished_at=finished,
            buckets=len(ids), max_lag_ms=lag, seconds=(finished - started).total_seconds(),
        )  # fmt: skip
        return RollupResult(LIVE, len(ids), lag)


def rollups_process(
    *, granularity: str, max_buckets: int = 200, budget_seconds: float = 20.0
) -> RollupResult:
    """Count what is waiting for the live pass (unless it is running), then recompute the
    buckets marked since the last run, `max_buckets` per transaction, until none are left
    or the time budget is spent, so a backlog drains a chunk at a time."""
    rollups_live()
    started = timezone.now()
    deadline = started + dt.timedelta(seconds=budget_seconds)
    done, worst = 0, 0
    while True:
        chunk = _process_chunk(granularity, max_buckets, since=started)
        if chunk is None:
            break
        done, worst = done + chunk[0], max(worst, chunk[1])
        if timezone.now() >= deadline:
            break
    return RollupResult(granularity, done, worst)


def rollups_process_due(*, granularity: str) -> RollupResult:
    """The scheduled exact pass: rollups_process, unless it is resting (exact_pass_due)."""
    if not exact_pass_due(granularity, now=timezone.now()):
        return RollupResult(granularity, 0, 0)
    return rollups_process(granularity=granularity)


def rollups_rebuild(
    *,
    start: dt.datetime,
    end: dt.datetime,
    granularities: tuple[str, ...] = GRANULARITIES,
    progress=None,
) -> int:
    """Recompute the granularities over whole days from start to end; return the days. Each
    day is its own transaction, taken in turn with the jobs of each granularity (it waits
    for a running one), so years of history rebuild without one huge transaction and a
    stop loses at most the day in hand (and the active users' rolling windows, recomputed
    once at the end). `progress(day)` is called after each day. Batches still waiting for
    the live pass are left to it."""
    first, last = bucket_start(start, "day"), bucket_start(end, "day") + STEP["day"]
    day = first
    while day < last:
        for granularity in granularities:
            with transaction.atomic():
                _locked(granularity, wait=True)
                _recompute(granularity, [(day, day + STEP["day"])], windows=False)
        if progress:
            progress(day.date())
        day += STEP["day"]
    if "day" in granularities:  # the rolling windows once, not once a day
        with transaction.atomic():
            _locked("day", wait=True)
            _windows_refresh(first, last)
    return (last - first).days


# The tables each granularity's recomputation writes.
_WRITTEN = {
    "minute": (EventRollup, TimelineMinute),
    "hour": (EventRollup,),
    "day": (
        EventRollup,
        DailyUserStats,
        PlatformMetric,
        Person,
        PersonActivity,
        PersonFirstEvent,
        SessionDay,
        PageMoveDay,
    ),  # fmt: skip
}


def rollup_tables_vacuum(granularities: tuple[str, ...] = GRANULARITIES) -> list[str]:
    """VACUUM ANALYZE, on PostgreSQL, the tables a rebuild of these granularities wrote, and
    return their names. A large rebuild leaves them without planner statistics or a
    visibility map until autovacuum comes round, and metrics queries compete with autovacuum
    while it runs (measured after a 10-million-event backfill: retention p95 218–272 ms while
    it ran, 150–163 ms otherwise). Inside a transaction, where VACUUM cannot run, ANALYZE
    only."""
    if connection.vendor != "postgresql":
        return []
    tables = list(dict.fromkeys(m._meta.db_table for g in granularities for m in _WRITTEN[g]))
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")
    return tables

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

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Concat, Left, Trunc, TruncDate
from django.utils import timezone

from analytics.maths.funnels import period_start
from analytics.models import (
    DailyUserStats,
    DistinctIdLink,
    Event,
    EventRollup,
    Person,
    PersonActivity,
    PersonFirstEvent,
    PlatformMetric,
    RollupBatch,
    RollupDirty,
    RollupRun,
    TimelineMinute,
)
from analytics.rollups.buckets import GRANULARITIES, STEP, bucket_start
from analytics.rollups.timeline import Micros, PackedMoments, PersonNumber

DIMENSIONS = ("artist_id", "show_id", "song_id")


@dataclass(frozen=True)
class RollupResult:
    granularity: str
    buckets: int
    max_lag_ms: int


LIVE = "live"  # the live pass's lock
USER, ANONYMOUS = "u:", "a:"  # how a person key begins: an account, or a distinct id


def person_keys(*, user_id: int, distinct_ids: list[str]) -> list[str]:
    """The person keys an account and the distinct ids it used are counted under."""
    return [f"{USER}{user_id}", *(f"{ANONYMOUS}{d}" for d in distinct_ids)]


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
                then=Concat(Value(USER), Cast(known, CharField())),
            ),
            default=Concat(Value(ANONYMOUS), F("distinct_id")),
            output_field=CharField(),
        )
    )


def _insert_select(table: str, columns: str, select: str, queryset, params=()) -> None:
    """INSERT INTO table (columns) SELECT `select` FROM (the queryset's SQL) q: the database
    computes and stores the rows; none pass through Python."""
    sql, query_params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {select} FROM ({sql}) q",
            [*params, *query_params],
        )


_CELL = ("bucket", "event", "dimension", "value")


def _grouped(events, granularity: str, dimension: str, **measures):
    """The events' cells of one granularity and dimension, as rows of (bucket, event,
    dimension, value, *measures)."""
    rows = events.annotate(
        bucket=Trunc("timestamp", granularity, tzinfo=dt.UTC), dimension=Value(dimension)
    )
    if dimension:
        # Cut to the column's size before grouping: two long values that agree on their
        # first 64 characters are one cell, not two rows fighting over one key.
        rows = rows.annotate(value=Left(KT(f"properties__{dimension}"), 64)).filter(
            value__isnull=False
        )
    else:
        rows = rows.annotate(value=Value(""))
    return rows.values(*_CELL).annotate(**measures).values_list(*_CELL, *measures)


def _add(granularity: str, parts: list[tuple[str, list]]) -> None:
    """Add the rows of the parts' SQL, (bucket, event, dimension, value, n, p), summed per
    cell, to the count (n) and persons (p) of the cells of `granularity`: in one statement,
    so all it reads is one snapshot, and in the order of the cells, which both passes keep,
    so the two never wait on each other in a circle."""
    table = connection.ops.quote_name(EventRollup._meta.db_table)
    columns = ", ".join((*_CELL, "n", "p"))
    union = " UNION ALL ".join(
        f"SELECT {columns} FROM ({sql}) p{i}" for i, (sql, _) in enumerate(parts)
    )
    cell = ", ".join(f"u.{c}" for c in _CELL)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (granularity, bucket, event, dimension, value, count, persons) "
            f"SELECT %s, {cell}, SUM(u.n), SUM(u.p) FROM ({union}) u WHERE true "
            f"GROUP BY {cell} HAVING SUM(u.n) <> 0 OR SUM(u.p) <> 0 ORDER BY {cell} "
            "ON CONFLICT (granularity, bucket, event, dimension, value) DO UPDATE SET "
            f"count = {table}.count + EXCLUDED.count, persons = {table}.persons + EXCLUDED.persons",
            [granularity, *(p for _, params in parts for p in params)],
        )


def _increment(counts: dict[tuple, int]) -> None:
    """Add to the count of each cell, (granularity, bucket, event, dimension, value), in
    the order of the cells (on PostgreSQL, where two passes write at once), as _add keeps;
    persons are left to the exact pass (a sum of batches would count a person once for
    each batch)."""
    table = connection.ops.quote_name(EventRollup._meta.db_table)
    upsert = (
        f"INSERT INTO {table} (granularity, bucket, event, dimension, value, count, persons) "
        "{select} ON CONFLICT (granularity, bucket, event, dimension, value) "
        f"DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, the rows as one JSON text: psycopg adapting lists would look at
            # each of a hundred thousand values alone, which costs more than the upsert.
            rows = [
                {"g": g, "b": b.isoformat(), "e": e, "d": d, "v": v, "n": n}
                for (g, b, e, d, v), n in counts.items()
            ]
            cursor.execute(
                upsert.format(
                    select="SELECT g, b, e, d, v, n, 0 FROM json_to_recordset(%s::json) AS u "
                    "(g text, b timestamptz, e text, d text, v text, n bigint) "
                    "ORDER BY g, b, e, d, v"
                ),
                [orjson.dumps(rows).decode()],
            )
        else:
            # Buckets as Django stores them, or a cell would not meet its own row.
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                upsert.format(select="VALUES (%s, %s, %s, %s, %s, %s, 0)"),
                [(g, adapt(b), e, d, v, n) for (g, b, e, d, v), n in counts.items()],
            )


def _lateness() -> dt.timedelta:
    return dt.timedelta(hours=settings.ANALYTICS_ROLLUP_LATENESS_HOURS)


def _counted_live() -> Q:
    """Which of a batch's events the live pass counts: those not older than the lateness
    on arrival, as ingestion marks only their buckets (storage._not_before)."""
    return Q(timestamp__gte=F("received_at") - _lateness())


def _in_ranges(field: str, ranges: list[tuple[dt.datetime, dt.datetime]]) -> Q:
    """`field` in any of the [start, end) ranges."""
    within = Q()
    for start, end in ranges:
        within |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return within


def _exact_cells(granularity: str, ranges: list[tuple[dt.datetime, dt.datetime]]) -> None:
    """Bring the cells of the [start, end) ranges to what the raw events give: per cell, add
    the recomputed count less the live pass's still to come, and the recomputed persons,
    less what the cell holds now.

    One statement for all the ranges, run last in its transaction: the cells it writes stay
    locked until the commit, and the live pass waits for them; the recomputation itself
    takes no lock, however long it runs."""
    events = events_with_person(Event.objects.filter(_in_ranges("timestamp", ranges)))
    waiting = Q(batch__in=RollupBatch.objects.values("id")) & _counted_live()
    parts = [
        _grouped(
            events, granularity, dimension,
            n=Count("id") - Count("id", filter=waiting), p=Count("person", distinct=True),
        ).query.sql_with_params()
        for dimension in ("", *DIMENSIONS)
    ]  # fmt: skip
    held = EventRollup.objects.filter(_in_ranges("bucket", ranges), granularity=granularity)
    parts.append(
        held.annotate(n=-F("count"), p=-F("persons")).values_list(*_CELL, "n", "p")
        .query.sql_with_params()
    )  # fmt: skip
    _add(granularity, parts)
    held.filter(count=0, persons=0).delete()


def _daily_user_stats(start: dt.datetime, end: dt.datetime) -> None:
    events = events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lt=end))
    rows = (
        events.annotate(day=TruncDate("timestamp", tzinfo=dt.UTC))
        .values("day", "person")
        .annotate(
            events=Count("id"),
            pageviews=Count("id", filter=Q(event="$pageview")),
            votes=Count("id", filter=Q(event="vote_cast")),
        )
    )
    _insert_select(
        DailyUserStats._meta.db_table,
        "day, person, events, pageviews, votes",
        "q.day, q.person, q.events, q.pageviews, q.votes",
        rows,
    )


PLATFORM_EVENTS = {"pageviews": "$pageview", "votes": "vote_cast", "signups": "signed_up",
                   "follows": "artist_followed"}  # fmt: skip


def _platform_metrics(start: dt.datetime, end: dt.datetime) -> list[PlatformMetric]:
    """Per day: all events, distinct persons, and counts of the events that matter most."""
    values: dict[tuple[dt.date, str], int] = defaultdict(int)
    cells = EventRollup.objects.filter(
        granularity="day", dimension="", bucket__gte=start, bucket__lt=end
    ).values_list("bucket", "event", "count")
    for bucket, event, count in cells:
        values[(bucket.date(), "events")] += count
        for name, platform_event in PLATFORM_EVENTS.items():
            if event == platform_event:
                values[(bucket.date(), name)] += count
    persons = (
        DailyUserStats.objects.filter(day__gte=start.date(), day__lt=end.date())
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    for day, n in persons:
        values[(day, "persons")] = n
    return [PlatformMetric(day=d, name=n, value=v) for (d, n), v in sorted(values.items())]


# Folding a day into the person tables: upserts that only ever move a day or a time earlier,
# and inserts that only add; so a day folds in again with no change, and nothing is rewritten
# that stays the same. `{firsts}` holds the day's events grouped by person and event.
PERSON_UPSERT = """
INSERT INTO {person} (key, first_seen, signed_up)
SELECT q.person, %s, CASE WHEN MAX(CASE WHEN q.event = 'signed_up' THEN 1 ELSE 0 END) = 1
                          THEN %s END
FROM {firsts} q WHERE true GROUP BY q.person
ON CONFLICT (key) DO UPDATE SET
  first_seen = CASE WHEN {person}.first_seen < EXCLUDED.first_seen
                    THEN {person}.first_seen ELSE EXCLUDED.first_seen END,
  signed_up = CASE WHEN EXCLUDED.signed_up IS NULL OR {person}.signed_up < EXCLUDED.signed_up
                   THEN {person}.signed_up ELSE EXCLUDED.signed_up END
WHERE EXCLUDED.first_seen < {person}.first_seen
   OR (EXCLUDED.signed_up IS NOT NULL
       AND ({person}.signed_up IS NULL OR EXCLUDED.signed_up < {person}.signed_up))
"""

FIRST_EVENT_UPSERT = """
INSERT INTO {first_event} (person_id, event, first_at)
SELECT p.id, q.event, q.first_at FROM {firsts} q JOIN {person} p ON p.key = q.person
WHERE true
ON CONFLICT (event, person_id) DO UPDATE SET first_at = EXCLUDED.first_at
WHERE EXCLUDED.first_at < {first_event}.first_at
"""

ACTIVITY_INSERT = """
INSERT INTO {activity} (person_id, period, start, event)
SELECT p.id, v.period, v.start, x.event
FROM (SELECT person, event FROM {firsts} UNION SELECT person, '' FROM {firsts}) x
JOIN {person} p ON p.key = x.person
CROSS JOIN (SELECT 'week' AS period, %s AS start UNION ALL SELECT 'month', %s) v
WHERE true
ON CONFLICT DO NOTHING
"""


def _merge_linked_people() -> int:
    """Fold each anonymous person whose browser has since been linked to an account into
    that user's person: earliest dates and first times, all activity; then drop it. Without
    this, browsing before a sign-up or log-in would count as a second person for good."""
    links = DistinctIdLink.objects.annotate(key=Concat(Value(ANONYMOUS), "distinct_id"))
    pairs = list(links.filter(key__in=Person.objects.values("key")).values_list("key", "user_id"))
    for anonymous_key, user_id in pairs:
        anonymous = Person.objects.get(key=anonymous_key)
        person, created = Person.objects.get_or_create(
            key=f"{USER}{user_id}",
            defaults={"first_seen": anonymous.first_seen, "signed_up": anonymous.signed_up},
        )
        if not created:
            person.first_seen = min(person.first_seen, anonymous.first_seen)
            dates = [d for d in (person.signed_up, anonymous.signed_up) if d]
            person.signed_up = min(dates) if dates else None
            person.save(update_fields=["first_seen", "signed_up"])
        firsts = dict(person.first_events.values_list("event", "first_at"))
        for event, first_at in anonymous.first_events.values_list("event", "first_at"):
            if event not in firsts or first_at < firsts[event]:
                PersonFirstEvent.objects.update_or_create(
                    person=person, event=event, defaults={"first_at": first_at}
                )
        PersonActivity.objects.bulk_create(
            [
                PersonActivity(person=person, period=period, start=start, event=event)
                for period, start, event in anonymous.activity.values_list(
                    "period", "start", "event"
                )
            ],
            ignore_conflicts=True,
        )
        anonymous.delete()
    return len(pairs)


def _people(start: dt.datetime, end: dt.datetime) -> None:
    """Fold each day's events into Person (first seen, signed up), PersonFirstEvent (first
    time per event) and PersonActivity (who did what in which week and month)."""
    tables = {
        "person": Person._meta.db_table,
        "first_event": PersonFirstEvent._meta.db_table,
        "activity": PersonActivity._meta.db_table,
    }
    _merge_linked_people()
    firsts = "analytics_day_firsts"  # a temporary table: the day's events are read once
    day = start
    while day < end:
        events = Event.objects.filter(timestamp__gte=day, timestamp__lt=day + STEP["day"])
        grouped, params = (
            events_with_person(events)
            .values("person", "event")
            .annotate(first_at=Min("timestamp"))
            .query.sql_with_params()
        )
        date = day.date()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {firsts}")
            cursor.execute(f"CREATE TEMPORARY TABLE {firsts} AS {grouped}", params)
            cursor.execute(PERSON_UPSERT.format(firsts=firsts, **tables), [date, date])
            cursor.execute(FIRST_EVENT_UPSERT.format(firsts=firsts, **tables))
            cursor.execute(
                ACTIVITY_INSERT.format(firsts=firsts, **tables),
                [period_start(date, "week"), period_start(date, "month")],
            )
            cursor.execute(f"DROP TABLE {firsts}")
        day += STEP["day"]


def _timeline(start: dt.datetime, end: dt.datetime) -> None:
    """Replace the timeline rows of [start, end) with those of the stored events."""
    TimelineMinute.objects.filter(minute__gte=start, minute__lt=end).delete()
    rows = (
        events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lt=end))
        .annotate(minute=Trunc("timestamp", "minute", tzinfo=dt.UTC))
        .values("event", "minute")
        .annotate(moments=PackedMoments(PersonNumber("person"), Micros("timestamp")))
    )
    _insert_select(TimelineMinute._meta.db_table, "event, minute, moments",
                   "q.event, q.minute, q.moments", rows)  # fmt: skip


def _recompute(granularity: str, ranges: list[tuple[dt.datetime, dt.datetime]]) -> None:
    """The exact pass over the ranges: the tables it replaces, then the cells, then (by
    day) the platform metrics, which read them."""
    for start, end in ranges:
        _replace(granularity, start, end)
    _exact_cells(granularity, ranges)
    if granularity == "day":
        for start, end in ranges:
            PlatformMetric.objects.filter(day__gte=start.date(), day__lt=end.date()).delete()
            PlatformMetric.objects.bulk_create(_platform_metrics(start, end))


def _replace(granularity: str, start: dt.datetime, end: dt.datetime) -> None:
    """Replace what the exact pass keeps beside the cells: the timeline by minute; by day,
    the daily user stats and the person tables."""
    if granularity == "minute":
        _timeline(start, end)
    if granularity == "day":
        first, last = start.date(), end.date()
        DailyUserStats.objects.filter(day__gte=first, day__lt=last).delete()
        _daily_user_stats(start, end)
        _people(start, end)


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
        key = zlib.crc32(f"analytics.rollups.passes.{granularity}".encode())
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
        events = Event.objects.filter(batch__in=ids, timestamp__gte=oldest - _lateness())
        events = events.filter(_counted_live())
        # Read once, by minute; hours and days are sums of their minutes.
        counts: dict[tuple, int] = defaultdict(int)
        for dimension in ("", *DIMENSIONS):
            for minute, *cell, n in _grouped(events, "minute", dimension, n=Count("id")):
                for granularity in GRANULARITIES:
                    counts[(granularity, bucket_start(minute, granularity), *cell)] += n
        _increment(counts)
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
    stop loses at most the day in hand. `progress(day)` is called after each day. Batches
    still waiting for the live pass are left to it."""
    first, last = bucket_start(start, "day"), bucket_start(end, "day") + STEP["day"]
    day = first
    while day < last:
        for granularity in granularities:
            with transaction.atomic():
                _locked(granularity, wait=True)
                _recompute(granularity, [(day, day + STEP["day"])])
        if progress:
            progress(day.date())
        day += STEP["day"]
    return (last - first).days


# The tables each granularity's recomputation writes.
_WRITTEN = {
    "minute": (EventRollup, TimelineMinute),
    "hour": (EventRollup,),
    "day": (EventRollup, DailyUserStats, PlatformMetric, Person, PersonActivity, PersonFirstEvent),
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

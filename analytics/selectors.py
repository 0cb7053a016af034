import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from analytics.models import (
    DailyUserStats,
    DistinctIdLink,
    EventRollup,
    Granularity,
    IngestKey,
    TimelineMinute,
)
from analytics.rollups.buckets import bucket_start
from analytics.rollups.people import person_keys
from analytics.rollups.timeline import micros, moments_unpack, person_number

_MEMO_SECONDS = 60
_MEMO_MAX = 10_000
_memo: dict[str, tuple["IngestSource", float]] = {}


@dataclass(frozen=True, slots=True)
class IngestSource:
    """The ingest key a request came with: its id and whether it is public (in pages, for
    anyone to read), which is all capture needs (a model instance costs a small request
    more than its validation)."""

    pk: int
    is_public: bool = False


def ingest_key_get(*, secret: str) -> IngestSource | None:
    """Return the active key with this secret.

    Answers are remembered for a minute in this process and in the shared cache: capture
    asks on every request, so disabling a key takes up to a minute to bite.
    """
    if not secret or len(secret) > 100:
        return None
    digest = IngestKey.hash(secret)
    remembered = _memo.get(digest)
    if remembered and remembered[1] > time.monotonic():
        source = remembered[0]
    else:
        cache_key = f"analytics:ingest-source:{digest}"
        found = cache.get(cache_key)
        if found is None:
            key = IngestKey.objects.filter(key_hash=digest, is_active=True).first()
            found = (key.pk, key.is_public) if key else (0, False)
            cache.set(cache_key, found, timeout=_MEMO_SECONDS)
        source = IngestSource(pk=found[0], is_public=found[1]) if found[0] else None
        if source:  # only real keys: a flood of made-up ones must not fill this process
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[digest] = (source, time.monotonic() + _MEMO_SECONDS)
    return source


def ingest_key_forget() -> None:
    """Drop this process's remembered answers (tests, or after disabling a key here)."""
    _memo.clear()


WEB_TRACKER_KEY_NAME = "web"
WEB_TRACKER_CACHE_KEY = "analytics:web-tracker-key"


def web_tracker_key_get() -> str | None:
    """Return the public key of the site's own tracker, or None when there is none."""
    cache_key = WEB_TRACKER_CACHE_KEY
    key = cache.get(cache_key)
    if key is None:
        found = IngestKey.objects.filter(
            name=WEB_TRACKER_KEY_NAME, is_public=True, is_active=True
        ).first()
        key = found.public_key if found else ""
        cache.set(cache_key, key, timeout=_MEMO_SECONDS)
    return key or None


def timeline_aliases(*, since: dt.datetime) -> dict[int, int]:
    """Map the timeline numbers of browsers linked to an account since `since` to the
    account's number."""
    aliases = {}
    links = DistinctIdLink.objects.filter(created_at__gte=since)
    for distinct_id, user_id in links.values_list("distinct_id", "user_id"):
        account, browser = person_keys(user_id=user_id, distinct_ids=[distinct_id])
        aliases[person_number(browser)] = person_number(account)
    return aliases


# A minute can be packed up to 23 hours before its time (events may be stamped that far
# ahead of their arrival): browsers linked since a day before the range may be in it
# under their anonymous number.
ALIAS_LEAD = dt.timedelta(hours=24)


@dataclass(frozen=True)
class TimelineEvents:
    """Events of the timeline as arrays, one row per event: the person's number, the time in
    microseconds since the epoch, and the event's code, its index in `names`."""

    names: list[str]
    person: np.ndarray
    at: np.ndarray
    code: np.ndarray


def timeline_events(
    *, start: dt.datetime, end: dt.datetime, names: list[str] | None = None
) -> TimelineEvents:
    """Return the timeline's events from start to end, inclusive, of those names (or of
    every name); browsers that have become accounts since are counted as the account."""
    minutes = TimelineMinute.objects.filter(
        minute__gte=bucket_start(start, "minute"), minute__lte=end
    )
    if names is not None:
        minutes = minutes.filter(event__in=names)
    packed: dict[str, list[bytes]] = defaultdict(list)
    for event, moments in minutes.values_list("event", "moments").iterator():
        packed[event].append(moments)
    names = sorted(packed) if names is None else names
    unpacked = [moments_unpack(b"".join(packed[name])) for name in names]
    person = np.concatenate([person for person, _ in unpacked] or [np.empty(0, np.int64)])
    at = np.concatenate([at for _, at in unpacked] or [np.empty(0, np.int64)])
    code = np.repeat(np.arange(len(names)), [len(at) for _, at in unpacked])
    inside = (at >= micros(start)) & (at <= micros(end))
    person, at, code = person[inside], at[inside], code[inside]
    aliases = timeline_aliases(since=start - ALIAS_LEAD)
    if aliases:
        browsers = np.array(sorted(aliases), dtype=np.int64)
        accounts = np.array([aliases[b] for b in browsers.tolist()], dtype=np.int64)
        found = np.isin(person, browsers)
        person[found] = accounts[np.searchsorted(browsers, person[found])]
    return TimelineEvents(names, person, at, code)


@dataclass(frozen=True)
class AccountDay:
    user_id: int
    day: dt.date
    events: int
    pageviews: int
    votes: int


def account_daily_activity(*, start: dt.date, end: dt.date) -> list[AccountDay]:
    """Return what each signed-in account did on each UTC day from start to end, inclusive
    (from the day rollups; browsers not linked to an account are left out)."""
    rows = (
        DailyUserStats.objects.filter(day__gte=start, day__lte=end, person__startswith="u:")
        .values_list("person", "day", "events", "pageviews", "votes")
        .iterator(chunk_size=5000)
    )
    out = []
    for person, day, events, pageviews, votes in rows:
        user = person[2:]
        if user.isdigit():
            out.append(AccountDay(int(user), day, events, pageviews, votes))
    return out


def event_name_known(*, name: str) -> bool:
    """Return whether any stored event has this name (its day rollups hold it)."""
    return EventRollup.objects.filter(
        granularity=Granularity.DAY, event=name, dimension=""
    ).exists()


@dataclass(frozen=True, slots=True)
class SubjectTotals:
    """One subject's total of an event (its count, or the sum of a numeric property) in the
    days after its moment and in as many days before it."""

    ref: int
    after: float
    before: float


def event_totals_around(
    *, event: str, subjects, days: int, since: dt.datetime, until: dt.datetime, prop: str = ""
) -> list[SubjectTotals]:
    """Return, for each subject that did `event` within `days` of its moment, the event's
    total in [moment, moment + days) and in [moment - days, moment), in one query.

    `subjects` is a queryset of `ref` (a whole number naming the subject), `user_id` (or
    None), `distinct_id` and `moment` values; an event is the subject's when it has the
    subject's user id or, failing that, its distinct id. Only events from `since` until
    `until` are read (give the subjects' earliest moment less `days` and their latest plus
    `days`): on PostgreSQL the timestamp's BRIN index narrows the scan to them. `prop` sums
    that property of the events, counting a value that is not a number as 0, instead of
    counting them.
    """
    from django.db import connection
    from django.db.models import DateTimeField, ExpressionWrapper, F
    from django.db.models.fields.json import compile_json_path

    from analytics.models import Event

    window = dt.timedelta(days=days)
    moments = subjects.annotate(
        lo=ExpressionWrapper(F("moment") - window, output_field=DateTimeField()),
        hi=ExpressionWrapper(F("moment") + window, output_field=DateTimeField()),
    ).values("ref", "user_id", "distinct_id", "moment", "lo", "hi")
    moments_sql, moments_params = moments.query.sql_with_params()
    value, value_params = "1", []
    if prop and connection.vendor == "postgresql":
        value = (
            "CASE WHEN jsonb_typeof(properties -> %s) = 'number' "
            "THEN (properties ->> %s)::double precision ELSE 0 END"
        )
        value_params = [prop, prop]
    elif prop:
        path = compile_json_path([prop])
        value = (
            "CASE WHEN json_type(properties, %s) IN ('integer', 'real') "
            "THEN json_extract(properties, %s) ELSE 0 END"
        )
        value_params = [path, path]
    table, ts = (
        connection.ops.quote_name(Event._meta.db_table),
        connection.ops.quote_name("timestamp"),
    )
    pair = (
        "SELECT m.ref AS ref, CASE WHEN e.ts >= m.moment THEN e.v ELSE 0 END AS post, "
        "CASE WHEN e.ts < m.moment THEN e.v ELSE 0 END AS pre FROM m JOIN e ON {on} "
        "WHERE e.ts >= m.lo AND e.ts < m.hi"
    )
    # Two equi-joins rather than one join on "user id or distinct id", which PostgreSQL can
    # only run as a nested loop; the second leaves out what the first already counted.
    # PostgreSQL materialises a CTE read twice, which hides the tables' statistics and rules
    # out parallel hash joins: inlined, it runs three times faster.
    inline = " NOT MATERIALIZED" if connection.vendor == "postgresql" else ""
    sql = (
        f"WITH m AS{inline} ({moments_sql}), "
        f"e AS{inline} (SELECT user_id AS uid, distinct_id AS did, {ts} AS ts, {value} AS v "
        f"FROM {table} WHERE event = %s AND {ts} >= %s AND {ts} < %s) "
        "SELECT ref, SUM(post), SUM(pre) FROM ("
        + pair.format(on="e.uid = m.user_id")
        + " UNION ALL "
        + pair.format(on="e.did = m.distinct_id")
        + " AND (m.user_id IS NULL OR e.uid IS NULL OR e.uid <> m.user_id)"
        ") x GROUP BY ref"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params = [*moments_params, *value_params, event, adapt(since), adapt(until)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [SubjectTotals(int(k), float(a or 0), float(b or 0)) for k, a, b in cursor]


@dataclass(frozen=True)
class LiveFlow:
    """What reached the rollups over a span: every event and the votes among them, and the
    live pass's ingestion lag (accepted to counted) over the runs that finished in it."""

    events: int
    votes: int
    lag_runs: int
    lag_p99_ms: float | None
    lag_max_ms: int | None


def live_flow(*, start: dt.datetime, end: dt.datetime) -> LiveFlow:
    """Return events and votes counted in the minute rollups of [start, end), and the lag of
    the live passes that finished then (for monitoring's live figures: minutes the live
    pass has not reached yet count nothing, which the lag says)."""
    runs, p99, worst = live_lag(start=start, end=end)
    return LiveFlow(
        events=live_count(start=start, end=end), votes=live_count(start=start, end=end,
                                                                  event="vote_cast"),
        lag_runs=runs, lag_p99_ms=p99, lag_max_ms=worst,
    )  # fmt: skip


def live_count(*, start: dt.datetime, end: dt.datetime, event: str | None = None) -> int:
    """Return the events (of one name, or all) counted in the minute rollups of [start, end)."""
    from django.db.models import Sum

    rows = EventRollup.objects.filter(
        granularity=Granularity.MINUTE, dimension="", bucket__gte=start, bucket__lt=end
    )
    if event is not None:
        rows = rows.filter(event=event)
    return rows.aggregate(n=Sum("count"))["n"] or 0


def live_lag(*, start: dt.datetime, end: dt.datetime) -> tuple[int, float | None, int | None]:
    """Return how many live passes finished in [start, end), the 99th percentile and the
    worst of their ingestion lags in milliseconds (None without a run)."""
    from analytics.models import RollupRun
    from mysetlist.core.stats import percentile

    lags = list(
        RollupRun.objects.filter(
            kind=RollupRun.Kind.LIVE, granularity="minute", finished_at__gte=start,
            finished_at__lt=end,
        ).values_list("max_lag_ms", flat=True)
    )  # fmt: skip
    return len(lags), percentile(lags, 0.99), (max(lags) if lags else None)


def event_count_total(*, start: dt.datetime, end: dt.datetime) -> int:
    """Return every event counted in the rollups over [start, end) (whole UTC minutes): the
    whole hours in it from hour rows, the minutes at its edges from minute rows. Hour rows
    are kept far longer than minute rows (ANALYTICS_AGGREGATE_RETENTION_DAYS), so a span
    weeks back still reads, its edge minutes aside (for monitoring's seasonal baselines)."""
    from django.db.models import Q, Sum

    first_hour = start.replace(minute=0, second=0, microsecond=0)
    if first_hour < start:
        first_hour += dt.timedelta(hours=1)
    last_hour = end.replace(minute=0, second=0, microsecond=0)
    minutes = Q(granularity=Granularity.MINUTE)
    if first_hour >= last_hour:
        cells = minutes & Q(bucket__gte=start, bucket__lt=end)
    else:
        cells = (
            (minutes & Q(bucket__gte=start, bucket__lt=first_hour))
            | (minutes & Q(bucket__gte=last_hour, bucket__lt=end))
            | Q(granularity=Granularity.HOUR, bucket__gte=first_hour, bucket__lt=last_hour)
        )
    total = EventRollup.objects.filter(cells, dimension="").aggregate(n=Sum("count"))["n"]
    return int(total or 0)


def event_totals(*, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Return how many of each event the rollups counted in [start, end), by name: from the
    day rollups when the span is whole UTC days, else hours, else minutes."""
    from django.db.models import Sum

    granularity = Granularity.MINUTE
    if bucket_start(start, "day") == start and bucket_start(end, "day") == end:
        granularity = Granularity.DAY
    elif bucket_start(start, "hour") == start and bucket_start(end, "hour") == end:
        granularity = Granularity.HOUR
    rows = (
        EventRollup.objects.filter(
            granularity=granularity, dimension="", bucket__gte=start, bucket__lt=end
        )
        .values("event")
        .annotate(n=Sum("count"))
        .values_list("event", "n")
    )
    return {event: n or 0 for event, n in sorted(rows)}

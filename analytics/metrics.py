"""Product metrics, read from rollups and daily user stats (not from raw events, except for a
trend broken down by a property rollups do not keep). Each function's docstring is the
metric's definition; the API documents the same words."""

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Trunc
from django.utils import timezone

from mysetlist.core.exceptions import ApplicationError

from .buckets import STEP, bucket_range, bucket_start
from .funnel import Cohort, FunnelStep, cohorts, funnel_steps, steps_reached
from .models import DailyUserStats, Event, EventRollup, RollupRun
from .rollups import DIMENSIONS, events_with_person
from .sessions import (
    Session,
    SessionSummary,
    page_transitions,
    percentile,
    sessionize,
    summarize,
)

MAX_POINTS = 1000
RAW_BREAKDOWN_MAX_DAYS = 31


@dataclass(frozen=True)
class Series:
    breakdown: str | None
    total: int
    points: list[tuple[dt.datetime, int]]


def _buckets(start: dt.datetime, end: dt.datetime, interval: str) -> list[dt.datetime]:
    if end < start:
        raise ApplicationError(
            "date_to is before date_from.", {"fields": {"date_to": ["Too early."]}}
        )
    if (end - start) / STEP[interval] > MAX_POINTS:
        raise ApplicationError(
            f"That range has more than {MAX_POINTS} {interval}s; use a coarser interval.",
            {"fields": {"interval": ["Too fine for the range."]}},
        )
    return bucket_range(start, end, interval)


def _raw_breakdown(*, event, interval, buckets, measure, breakdown):
    raw = Event.objects.filter(
        event=event, timestamp__gte=buckets[0], timestamp__lt=buckets[-1] + STEP[interval]
    )
    events = events_with_person(raw).annotate(
        value=KT(f"properties__{breakdown}"), bucket=Trunc("timestamp", interval, tzinfo=dt.UTC)
    )
    number = Count("id") if measure == "count" else Count("person", distinct=True)
    return events.values("value", "bucket").annotate(n=number).values_list("value", "bucket", "n")


def trend(
    *,
    event: str,
    interval: str,
    start: dt.datetime,
    end: dt.datetime,
    measure: str = "count",
    breakdown: str | None = None,
    limit: int = 10,
) -> list[Series]:
    """Occurrences of `event` (measure "count") or distinct persons doing it ("persons") in
    each interval bucket from start to end, UTC, zero where none; with a breakdown, one series
    per value of that property, the `limit` largest by total. A series' total is the sum of
    its points: for "persons", person-buckets, not distinct persons over the whole range."""
    buckets = _buckets(start, end, interval)
    if breakdown is None or breakdown in DIMENSIONS:
        rows = EventRollup.objects.filter(
            granularity=interval, event=event, dimension=breakdown or "",
            bucket__gte=buckets[0], bucket__lte=buckets[-1],
        ).values_list("value", "bucket", measure)  # fmt: skip
    elif end - start > dt.timedelta(days=RAW_BREAKDOWN_MAX_DAYS):
        raise ApplicationError(
            f"A breakdown by {breakdown} reads raw events: {RAW_BREAKDOWN_MAX_DAYS} days at most.",
            {"fields": {"breakdown": ["Range too long for this property."]}},
        )
    else:
        rows = _raw_breakdown(
            event=event, interval=interval, buckets=buckets, measure=measure, breakdown=breakdown
        )
    by_value: dict = defaultdict(dict)
    for value, bucket, number in rows:
        by_value[value if breakdown else None][bucket] = number
    if not by_value:
        by_value[None] = {}
    series = [
        Series(
            breakdown=None if value is None else str(value),
            total=sum(points.values()),
            points=[(bucket, points.get(bucket, 0)) for bucket in buckets],
        )
        for value, points in by_value.items()
    ]
    series.sort(key=lambda s: (-s.total, s.breakdown or ""))
    return series[:limit]


@dataclass(frozen=True)
class ActiveUsers:
    day: dt.date
    dau: int
    wau: int
    mau: int

    @property
    def stickiness(self) -> float:
        return round(self.dau / self.mau, 4) if self.mau else 0.0


def active_users(*, first_day: dt.date, last_day: dt.date) -> list[ActiveUsers]:
    """For each UTC day: distinct persons with any event that day (DAU), in the 7 days ending
    that day (WAU), and in the 30 days ending that day (MAU); stickiness is DAU / MAU."""
    if last_day < first_day:
        raise ApplicationError(
            "date_to is before date_from.", {"fields": {"date_to": ["Too early."]}}
        )
    if (last_day - first_day).days > 366:
        raise ApplicationError("At most a year of days.", {"fields": {"date_from": ["Too early."]}})
    rows = DailyUserStats.objects.filter(
        day__gte=first_day - dt.timedelta(days=29), day__lte=last_day
    ).values_list("day", "person")
    persons_by_day: dict[dt.date, set[str]] = defaultdict(set)
    for day, person in rows:
        persons_by_day[day].add(person)

    def window(day: dt.date, days: int) -> int:
        seen: set[str] = set()
        for offset in range(days):
            seen |= persons_by_day.get(day - dt.timedelta(days=offset), set())
        return len(seen)

    result, day = [], first_day
    while day <= last_day:
        result.append(
            ActiveUsers(day, len(persons_by_day.get(day, ())), window(day, 7), window(day, 30))
        )
        day += dt.timedelta(days=1)
    return result


@dataclass(frozen=True)
class Lag:
    runs: int
    p50_ms: float
    p99_ms: float
    max_ms: int


def ingestion_lag(*, hours: int = 24) -> Lag:
    """Time from an event being accepted to being visible in minute rollups: per run of the
    minute job, the wait of its oldest mark; percentiles over the runs of the last `hours`."""
    since = timezone.now() - dt.timedelta(hours=hours)
    lags = list(
        RollupRun.objects.filter(granularity="minute", finished_at__gte=since).values_list(
            "max_lag_ms", flat=True
        )
    )
    if not lags:
        return Lag(0, 0.0, 0.0, 0)
    cuts = (
        statistics.quantiles(lags, n=100, method="inclusive") if len(lags) > 1 else [lags[0]] * 99
    )
    return Lag(len(lags), statistics.median(lags), cuts[98], max(lags))


def funnel(
    *,
    steps: list[str],
    window: dt.timedelta,
    start: dt.datetime,
    end: dt.datetime,
    breakdown: str | None = None,
) -> dict[str | None, list[FunnelStep]]:
    """Persons who did the steps in order, each after the one before and all within `window`
    of a first step done between start and end; per step, how many got that far, the share
    of the first step's persons and of the previous step's, and how many dropped off there.
    With a breakdown, one funnel per value of that property on the person's first step."""
    if not 2 <= len(steps) <= 10:
        raise ApplicationError("A funnel has 2 to 10 steps.", {"fields": {"steps": ["2 to 10."]}})
    if end < start or end - start > dt.timedelta(days=93) or window > dt.timedelta(days=90):
        raise ApplicationError(
            "Use a range of at most 93 days and a window of at most 90.",
            {"fields": {"date_to": ["Out of range."]}},
        )
    events = events_with_person(
        Event.objects.filter(
            event__in=set(steps), timestamp__gte=start, timestamp__lte=end + window
        )
    )
    columns = ["person", "timestamp", "event"]
    if breakdown:
        events = events.annotate(split=KT(f"properties__{breakdown}"))
        columns.append("split")
    times: dict[str, list] = defaultdict(list)
    split_of: dict[str, str | None] = {}
    for row in events.order_by("person", "timestamp").values_list(*columns):
        person, moment, name = row[:3]
        times[person].append((moment, name))
        if breakdown and name == steps[0] and start <= moment <= end and person not in split_of:
            split_of[person] = None if row[3] is None else str(row[3])
    reached: dict[str | None, list[int]] = defaultdict(list)
    for person, person_times in times.items():
        got = steps_reached(person_times, steps, window, start, end)
        if got:
            reached[split_of.get(person) if breakdown else None].append(got)
    if not reached:
        reached[None] = []
    return {split: funnel_steps(counts, steps) for split, counts in reached.items()}


def retention(
    *,
    period: str,
    periods: int,
    first_day: dt.date,
    last_day: dt.date,
    cohort_by: str = "first_seen",
    returning_event: str | None = None,
) -> list[Cohort]:
    """Cohorts of persons by the week or month they were first seen (any event) or signed up,
    from first_day to last_day; for each cohort, how many were active again in each of the
    following periods, on any event or on `returning_event` only. Period 0 is the cohort's."""
    if last_day < first_day or (last_day - first_day).days > 366:
        raise ApplicationError(
            "Use a range of at most a year.", {"fields": {"date_to": ["Out of range."]}}
        )
    if cohort_by == "signup":
        entered_rows = (
            events_with_person(Event.objects.filter(event="signed_up"))
            .annotate(day=Trunc("timestamp", "day", tzinfo=dt.UTC))
            .values("person")
            .annotate(first=Min("day"))
            .values_list("person", "first")
        )
        entered = {p: d.date() for p, d in entered_rows}
    else:
        entered = dict(
            DailyUserStats.objects.values("person")
            .annotate(first=Min("day"))
            .values_list("person", "first")
        )
    entered = {p: d for p, d in entered.items() if first_day <= d <= last_day}
    horizon = last_day + dt.timedelta(days=(7 if period == "week" else 31) * periods)
    if returning_event:
        rows = (
            events_with_person(
                Event.objects.filter(
                    event=returning_event,
                    timestamp__gte=dt.datetime.combine(first_day, dt.time(), dt.UTC),
                    timestamp__lt=dt.datetime.combine(horizon, dt.time(), dt.UTC),
                )
            )
            .annotate(day=Trunc("timestamp", "day", tzinfo=dt.UTC))
            .values_list("person", "day")
            .distinct()
        )
        active = [(p, d.date()) for p, d in rows]
    else:
        active = DailyUserStats.objects.filter(day__gte=first_day, day__lt=horizon).values_list(
            "person", "day"
        )
    active_days: dict[str, set[dt.date]] = defaultdict(set)
    for person, day in active:
        if person in entered:
            active_days[person].add(day)
    return cohorts(entered=entered, active_days=active_days, period=period, periods=periods)


def _raw_range(start: dt.datetime, end: dt.datetime) -> None:
    if end < start or end - start > dt.timedelta(days=RAW_BREAKDOWN_MAX_DAYS):
        raise ApplicationError(
            f"Use a range of at most {RAW_BREAKDOWN_MAX_DAYS} days.",
            {"fields": {"date_to": ["Out of range."]}},
        )


def _sessions(start: dt.datetime, end: dt.datetime) -> list[Session]:
    events = events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lte=end))
    rows = events.annotate(path=KT("properties__path")).order_by("person", "timestamp")
    streams: dict[str, list] = defaultdict(list)
    for person, moment, name, path in rows.values_list("person", "timestamp", "event", "path"):
        streams[person].append((moment, name, path))
    return [session for stream in streams.values() for session in sessionize(stream)]


def session_summary(*, start: dt.datetime, end: dt.datetime) -> SessionSummary:
    """Sessions are a person's events with no gap over 30 minutes. Their number; mean and
    median length (first to last event, seconds); page views per session; and bounce rate,
    the share of sessions with one page view and nothing else but passive tracker events."""
    _raw_range(start, end)
    return summarize(_sessions(start, end))


def paths(
    *, start: dt.datetime, end: dt.datetime, page: str | None = None, direction: str = "next",
    limit: int = 10,
) -> list[tuple[str, str, int]]:  # fmt: skip
    """The most frequent moves between consecutive page views within sessions: from `page` to
    the next page (or, with direction "previous", into it), or among all pages."""
    _raw_range(start, end)
    pairs = page_transitions(_sessions(start, end))
    if page is not None:
        side = 0 if direction == "next" else 1
        pairs = Counter({pair: n for pair, n in pairs.items() if pair[side] == page})
    ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(a, b, n) for (a, b), n in ranked]


VITALS = ("lcp", "inp", "cls", "ttfb")


def web_vitals(*, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """Per page path, the 75th percentile (nearest rank) of each Core Web Vital the tracker
    measured there: LCP, INP and TTFB in milliseconds, CLS unitless; and how many samples."""
    _raw_range(start, end)
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    rows = Event.objects.filter(event="$web_vitals", timestamp__gte=start, timestamp__lte=end)
    for properties in rows.values_list("properties", flat=True):
        page = properties.get("path") or ""
        for vital in VITALS:
            value = properties.get(vital)
            if isinstance(value, int | float) and not isinstance(value, bool):
                samples[page][vital].append(float(value))
    return [
        {
            "path": page,
            "samples": max(len(values) for values in vitals.values()),
            **{f"{vital}_p75": percentile(vitals.get(vital, []), 0.75) for vital in VITALS},
        }
        for page, vitals in sorted(samples.items())
    ]


TRENDING_KINDS = {"artist": "artist_id", "show": "show_id", "song": "song_id"}
TRENDING_WEIGHTS = {"$pageview": 1.0, "vote_cast": 3.0}


def trending(
    *, kind: str, now: dt.datetime, hours: int = 48, half_life_hours: float = 6.0,
    limit: int = 10,
) -> list[dict]:  # fmt: skip
    """Artists, shows or songs by a time-decayed score over the last `hours`: each page view
    counts 1 and each vote 3, halved for every `half_life_hours` of age (age taken at the
    middle of its minute or hour). Minute rollups give the last hour, so it moves live."""
    dimension = TRENDING_KINDS[kind]
    since = now - dt.timedelta(hours=hours)
    cut = bucket_start(now, "hour") - dt.timedelta(hours=1)
    rows = EventRollup.objects.filter(
        dimension=dimension, event__in=TRENDING_WEIGHTS, bucket__gte=since
    ).filter(
        Q(granularity="minute", bucket__gte=cut) | Q(granularity="hour", bucket__lt=cut)
    ).values_list("granularity", "bucket", "event", "value", "count")  # fmt: skip
    scores: dict[str, dict] = defaultdict(lambda: {"score": 0.0, "views": 0, "votes": 0})
    for granularity, bucket, event, value, count in rows:
        if not value.isdigit():  # properties are the sender's to fill; ids are numbers
            continue
        age = (now - (bucket + STEP[granularity] / 2)).total_seconds() / 3600
        cell = scores[value]
        cell["score"] += count * TRENDING_WEIGHTS[event] * 0.5 ** (max(age, 0) / half_life_hours)
        cell["views" if event == "$pageview" else "votes"] += count
    ranked = sorted(scores.items(), key=lambda item: (-item[1]["score"], item[0]))[:limit]
    return [
        {"id": int(value), **{**cell, "score": round(cell["score"], 4)}} for value, cell in ranked
    ]


def voting_patterns(*, show_id: int, start: dt.datetime, end: dt.datetime) -> dict:
    """For one show: votes per minute from start to end (zero-filled), its songs with the best
    score, and how many distinct fans voted there at all."""
    from mysetlist.setlists.selectors import show_voter_count, vote_tally_top

    buckets = _buckets(start, end, "minute")
    counts = dict(
        EventRollup.objects.filter(
            granularity="minute", event="vote_cast", dimension="show_id", value=str(show_id),
            bucket__gte=buckets[0], bucket__lte=buckets[-1],
        ).values_list("bucket", "count")
    )  # fmt: skip
    return {
        "votes_per_minute": [(bucket, counts.get(bucket, 0)) for bucket in buckets],
        "top_songs": vote_tally_top(show_id=show_id),
        "unique_voters": show_voter_count(show_id=show_id),
    }

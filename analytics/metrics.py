"""Product metrics, read from rollups and daily user stats (not from raw events, except for a
trend broken down by a property rollups do not keep). Each function's docstring is the
metric's definition; the API documents the same words."""

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.functions import Trunc
from django.utils import timezone

from mysetlist.core.exceptions import ApplicationError

from .buckets import STEP, bucket_range
from .models import DailyUserStats, Event, EventRollup, RollupRun
from .rollups import DIMENSIONS, events_with_person

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
    per value of that property, the `limit` largest by total."""
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

"""Trends of events over time: from rollups, or raw events for other properties."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.db.models.functions import Trunc

from analytics.metrics.breakdowns import breakdown_value, rollup_dimension
from analytics.models import Event, EventRollup, PersonActivity
from analytics.rollups.buckets import GRANULARITIES, bucket_count, bucket_next, bucket_range
from analytics.rollups.people import events_with_person
from mysetlist.core.exceptions import ApplicationError

MAX_POINTS = 1000
RAW_BREAKDOWN_MAX_DAYS = 31


@dataclass(frozen=True)
class Series:
    breakdown: str | None
    total: int
    points: list[tuple[dt.datetime, int]]


def trend_buckets(start: dt.datetime, end: dt.datetime, interval: str) -> list[dt.datetime]:
    if end < start:
        raise ApplicationError(
            "date_to is before date_from.", {"fields": {"date_to": ["Too early."]}}
        )
    if bucket_count(start, end, interval) > MAX_POINTS:
        raise ApplicationError(
            f"That range has more than {MAX_POINTS} {interval}s; use a coarser interval.",
            {"fields": {"interval": ["Too fine for the range."]}},
        )
    return bucket_range(start, end, interval)


def _raw_breakdown(*, event, interval, buckets, measure, breakdown):
    raw = Event.objects.filter(
        event=event, timestamp__gte=buckets[0], timestamp__lt=bucket_next(buckets[-1], interval)
    )
    events = (
        events_with_person(raw)
        .annotate(
            value=breakdown_value(breakdown), bucket=Trunc("timestamp", interval, tzinfo=dt.UTC)
        )
        .filter(value__isnull=False)
    )
    number = Count("id") if measure == "count" else Count("person", distinct=True)
    return events.values("value", "bucket").annotate(n=number).values_list("value", "bucket", "n")


def _rollup_cells(*, event, interval, buckets, measure, dimension, limit):
    """(value, bucket, number) from the rollups; weeks and months are sums of their days."""
    folded = interval not in GRANULARITIES
    cells = EventRollup.objects.filter(
        granularity="day" if folded else interval, event=event, dimension=dimension,
        bucket__gte=buckets[0], bucket__lt=bucket_next(buckets[-1], interval),
    )  # fmt: skip
    if dimension:  # only the points of the largest series leave the database
        totals = cells.values("value").annotate(total=Sum(measure))
        largest = sorted(totals, key=lambda row: (-row["total"], row["value"]))[:limit]
        cells = cells.filter(value__in=[row["value"] for row in largest])
    if not folded:
        return cells.values_list("value", "bucket", measure)
    return (
        cells.annotate(period=Trunc("bucket", interval, tzinfo=dt.UTC))
        .values("value", "period")
        .annotate(n=Sum(measure))
        .values_list("value", "period", "n")
    )


def _persons_by_period(*, event, interval, buckets):
    """(None, bucket, persons) from the person tables, which keep who did what in each week
    and month: distinct persons over a week are no sum of its days."""
    weeks = (
        PersonActivity.objects.filter(
            period=interval,
            event=event,
            start__gte=buckets[0].date(),
            start__lte=buckets[-1].date(),
        )  # fmt: skip
        .values("start")
        .annotate(n=Count("person"))
        .values_list("start", "n")
    )
    return [(None, dt.datetime.combine(start, dt.time(), dt.UTC), n) for start, n in weeks]


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
    each interval bucket, UTC, zero where none: minutes, hours, days, weeks (from Monday) or
    calendar months, from the bucket holding start to the one holding end, each bucket whole.
    With a breakdown, one series per value of that property or context key, the `limit`
    largest by total; events without it are left out. A series' total is the sum of its
    points: for "persons", person-buckets, not distinct persons over the whole range.
    Weeks and months are sums of the day rollups, but persons in a week or month are
    counted once from the person tables (without a breakdown) or from raw events."""
    buckets = trend_buckets(start, end, interval)
    dimension = rollup_dimension(breakdown)
    folded_persons = measure == "persons" and interval not in GRANULARITIES
    if folded_persons and breakdown is None:
        rows = _persons_by_period(event=event, interval=interval, buckets=buckets)
    elif dimension is not None and not folded_persons:
        rows = _rollup_cells(event=event, interval=interval, buckets=buckets, measure=measure,
                             dimension=dimension, limit=limit)  # fmt: skip
    elif end - start > dt.timedelta(days=RAW_BREAKDOWN_MAX_DAYS):
        what = f"Persons by {interval} with a breakdown" if folded_persons else "A breakdown"
        raise ApplicationError(
            f"{what} by {breakdown} reads raw events: {RAW_BREAKDOWN_MAX_DAYS} days at most.",
            {"fields": {"breakdown": ["Range too long for this breakdown."]}},
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

"""Trends of events over time: from rollups, or raw events for other properties."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Trunc

from mysetlist.core.exceptions import ApplicationError

from ..buckets import STEP, bucket_range
from ..models import Event, EventRollup
from ..rollups import DIMENSIONS, events_with_person

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
    buckets = trend_buckets(start, end, interval)
    if breakdown is None or breakdown in DIMENSIONS:
        cells = EventRollup.objects.filter(
            granularity=interval, event=event, dimension=breakdown or "",
            bucket__gte=buckets[0], bucket__lte=buckets[-1],
        )  # fmt: skip
        if breakdown:  # only the points of the largest series leave the database
            totals = cells.values("value").annotate(total=Sum(measure))
            largest = sorted(totals, key=lambda row: (-row["total"], row["value"]))[:limit]
            cells = cells.filter(value__in=[row["value"] for row in largest])
        rows = cells.values_list("value", "bucket", measure)
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

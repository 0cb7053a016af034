"""A widget's time range and the size of its buckets, as staff pick them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models

from mysetlist.core.exceptions import ApplicationError

MAX_POINTS = 1000  # buckets in one chart, as analytics' trends allow


class Range(models.TextChoices):
    MINUTES_15 = "15m", "Last 15 minutes"
    HOUR = "1h", "Last hour"
    HOURS_6 = "6h", "Last 6 hours"
    DAY = "24h", "Last 24 hours"
    WEEK = "7d", "Last 7 days"
    MONTH = "30d", "Last 30 days"
    QUARTER = "90d", "Last 90 days"
    YEAR = "365d", "Last 365 days"


class Interval(models.TextChoices):
    AUTO = "auto", "Automatic"
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


SPANS = {
    "15m": dt.timedelta(minutes=15),
    "1h": dt.timedelta(hours=1),
    "6h": dt.timedelta(hours=6),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
    "365d": dt.timedelta(days=365),
}
STEPS = {
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(weeks=1),
    "month": dt.timedelta(days=30),
}


@dataclass(frozen=True, slots=True)
class Window:
    """The moments a widget reads, [start, end], and its bucket size."""

    start: dt.datetime
    end: dt.datetime
    interval: str
    range: str

    @property
    def span(self) -> dt.timedelta:
        return self.end - self.start


def interval_for(range_key: str) -> str:
    """Return the bucket an automatic interval takes for a range: minutes up to 6 hours,
    hours up to 7 days, days beyond."""
    span = SPANS[range_key]
    if span <= dt.timedelta(hours=6):
        return "minute"
    if span <= dt.timedelta(days=7):
        return "hour"
    return "day"


def range_check(range_key: str, interval: str) -> None:
    """Raise ApplicationError for a range or interval that does not exist, or a pair that
    would draw more than MAX_POINTS buckets or less than one."""
    if range_key not in SPANS:
        raise ApplicationError(
            f"Unknown time range {range_key!r}; use one of {', '.join(SPANS)}.",
            {"fields": {"range": ["Unknown range."]}},
        )
    if interval not in Interval.values:
        raise ApplicationError(
            f"Unknown interval {interval!r}; use one of {', '.join(Interval.values)}.",
            {"fields": {"interval": ["Unknown interval."]}},
        )
    if interval == Interval.AUTO:
        return
    points = SPANS[range_key] / STEPS[interval]
    if points > MAX_POINTS:
        raise ApplicationError(
            f"{Range(range_key).label} by {interval} is {int(points):,} points; at most "
            f"{MAX_POINTS:,} fit a chart: pick a coarser interval.",
            {"fields": {"interval": ["Too fine for the range."]}},
        )
    if points < 1:
        raise ApplicationError(
            f"{Range(range_key).label} is shorter than one {interval}: pick a finer interval "
            "or a longer range.",
            {"fields": {"interval": ["Longer than the range."]}},
        )


def window(range_key: str, interval: str, now: dt.datetime) -> Window:
    """Return the window a range covers, ending at the current minute's end."""
    range_check(range_key, interval)
    if interval == Interval.AUTO:
        interval = interval_for(range_key)
    end = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return Window(end - SPANS[range_key], end - dt.timedelta(microseconds=1), interval, range_key)

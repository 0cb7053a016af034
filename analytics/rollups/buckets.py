"""Time buckets of rollups. Pure Python."""

import datetime as dt

from mysetlist.core.buckets import bucket_start

GRANULARITIES = ("minute", "hour", "day")
# What metrics may be read by: the rollups' granularities, and weeks (from Monday) and
# calendar months, which are folded from days.
INTERVALS = (*GRANULARITIES, "week", "month")
STEP = {
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(weeks=1),
}


def buckets_touched(moments, *, not_before: dt.datetime) -> set[tuple[str, dt.datetime]]:
    """Return every (granularity, bucket) the moments fall in, ignoring those too late."""
    minutes = {bucket_start(moment, "minute") for moment in moments if moment >= not_before}
    hours = {minute.replace(minute=0) for minute in minutes}
    days = {hour.replace(hour=0) for hour in hours}
    return {
        *(("minute", b) for b in minutes),
        *(("hour", b) for b in hours),
        *(("day", b) for b in days),
    }


def bucket_range(start: dt.datetime, end: dt.datetime, granularity: str) -> list[dt.datetime]:
    """Return every bucket start from the bucket of `start` to the bucket of `end`."""
    current, last = bucket_start(start, granularity), bucket_start(end, granularity)
    buckets = []
    while current <= last:
        buckets.append(current)
        current = bucket_next(current, granularity)
    return buckets


def bucket_next(bucket: dt.datetime, granularity: str) -> dt.datetime:
    """Return the start of the bucket after the one starting at `bucket`."""
    if granularity == "month":
        return bucket.replace(year=bucket.year + bucket.month // 12, month=bucket.month % 12 + 1)
    return bucket + STEP[granularity]


def bucket_count(start: dt.datetime, end: dt.datetime, granularity: str) -> int:
    """Return how many buckets bucket_range(start, end, granularity) holds, without them."""
    first, last = bucket_start(start, granularity), bucket_start(end, granularity)
    if last < first:
        return 0
    if granularity == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first) // STEP[granularity] + 1

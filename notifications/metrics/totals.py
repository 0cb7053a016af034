"""Delivery totals over any window of whole minutes, from the rollups: the one read other
apps get (notifications.selectors.delivery_totals)."""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from mysetlist.core.exceptions import ApplicationError
from notifications.metrics.histogram import histogram_merge, histogram_percentile
from notifications.metrics.results import DeliveryTotals
from notifications.metrics.rollups import COUNTS, DAY, DIMENSIONS, HOUR, MINUTE, floor
from notifications.models import DeliveryRollup

STEPS = {"minute": MINUTE, "hour": HOUR, "day": DAY}
LONGEST = dt.timedelta(days=400)


def _problems(start, end, by, every) -> dict[str, str]:
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        return {"start": "start and end must be datetimes."}
    if start.tzinfo is None or end.tzinfo is None:
        return {"start": "start and end must be timezone-aware."}
    if floor(start, MINUTE) != start or floor(end, MINUTE) != end:
        return {"start": "start and end must be whole minutes."}
    if not start < end <= start + LONGEST:
        return {"end": f"end must come after start, within {LONGEST.days} days."}
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown or len(set(by)) != len(by):
        return {"by": f"by takes distinct names among {', '.join(DIMENSIONS)}."}
    if every is not None and every not in STEPS:
        return {"every": f"every is one of {', '.join(STEPS)}, or None."}
    return {}


def _granularity(start: dt.datetime, end: dt.datetime, every: str | None) -> str:
    """The coarsest rows that cover the window exactly and are no coarser than `every`."""
    for name in ("day", "hour", "minute"):
        step = STEPS[name]
        if every is not None and step > STEPS[every]:
            continue
        if floor(start, step) == start and floor(end, step) == end:
            return name
    return "minute"


def totals_read(
    *, start: dt.datetime, end: dt.datetime, by: Sequence[str] = (), every: str | None = None
) -> list[DeliveryTotals]:
    """See notifications.selectors.delivery_totals. Groups in order of their key."""
    by = tuple(by)
    problems = _problems(start, end, by, every)
    if problems:
        raise ApplicationError(
            next(iter(problems.values())),
            extra={"fields": {name: [message] for name, message in problems.items()}},
        )
    granularity = _granularity(start, end, every)
    rows = DeliveryRollup.objects.filter(
        granularity=granularity, bucket__gte=start, bucket__lt=end
    ).order_by()
    groups: dict[tuple, dict] = defaultdict(lambda: {**dict.fromkeys(COUNTS, 0), "h": {}})
    for row in rows.iterator(chunk_size=2000):
        key = tuple(getattr(row, name) for name in by)
        if every is not None:
            key = (floor(row.bucket, STEPS[every]), *key)
        group = groups[key]
        for name in COUNTS:
            group[name] += getattr(row, name)
        group["h"] = histogram_merge((group["h"], row.latency_ms))
    names = (("bucket",) if every is not None else ()) + by
    return [
        DeliveryTotals(
            key=dict(zip(names, key, strict=True)),
            **{name: group[name] for name in COUNTS},
            latency_p50_ms=histogram_percentile(group["h"], 0.5),
            latency_p90_ms=histogram_percentile(group["h"], 0.9),
            latency_p99_ms=histogram_percentile(group["h"], 0.99),
        )
        for key, group in sorted(groups.items())
    ]

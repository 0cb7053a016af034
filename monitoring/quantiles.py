"""Latency buckets and percentiles read from bucket counts, as Prometheus's
histogram_quantile reads them: pure, so the middleware, the shared per-minute store and
Prometheus all cut latency at the same bounds."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping

# Upper bounds in seconds; a request slower than the last falls in the +Inf bucket.
LATENCY_BOUNDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


def bucket_index(seconds: float, bounds: tuple[float, ...] = LATENCY_BOUNDS) -> int:
    """Return the index of the first bucket whose upper bound holds `seconds`
    (len(bounds) for the +Inf bucket)."""
    return bisect.bisect_left(bounds, seconds)


def quantile(
    counts: Mapping[int, int], share: float, bounds: tuple[float, ...] = LATENCY_BOUNDS
) -> float | None:
    """Return the `share` (0 to 1) quantile of values counted per bucket index, linear
    inside the bucket it falls in (the +Inf bucket answers its lower bound); None when
    nothing was counted."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = share * total
    seen = 0
    for index in range(len(bounds) + 1):
        count = counts.get(index, 0)
        if count and seen + count >= rank:
            lower = bounds[index - 1] if index > 0 else 0.0
            if index == len(bounds):
                return lower
            upper = bounds[index]
            return lower + (upper - lower) * max(rank - seen, 0) / count
        seen += count
    return bounds[-1] if bounds else math.nan  # unreachable: rank <= total

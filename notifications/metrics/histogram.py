"""Latency histograms that merge: sparse counts in log-spaced buckets, so minute rows add up
into hours and days and percentiles come from the merged counts. Pure Python.

A positive value v falls in bucket i = ceil(log(v) / log(GAMMA)), which holds the values in
(GAMMA^(i-1), GAMMA^i]; it is read back as the point of that range whose relative distance to
both ends is the same, 2 * GAMMA^i / (GAMMA + 1). So any value read back is within
(GAMMA - 1) / (GAMMA + 1) of the truth, relatively: under 1% with GAMMA 1.02, and so is any
percentile, which lies between two values read back (the scheme of DDSketch, Masson et al.
2019). Zero has its own bucket, "z". Stored as a JSON object {bucket: count}.
"""

import math
from collections.abc import Iterable, Mapping

GAMMA = 1.02
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
ZERO = "z"
_LOG_GAMMA = math.log(GAMMA)


def bucket_of(value: float) -> str:
    """Return the key of the bucket holding `value` (0 or more)."""
    if value < 0:
        raise ValueError(f"a histogram holds no negative value ({value!r})")
    if value == 0:
        return ZERO
    return str(math.ceil(math.log(value) / _LOG_GAMMA))


def bucket_value(key: str) -> float:
    """Return the value a bucket stands for."""
    if key == ZERO:
        return 0.0
    return 2 * GAMMA ** int(key) / (GAMMA + 1)


def histogram_add(histogram: dict[str, int], value: float, count: int = 1) -> None:
    """Count `value` into `histogram`, in place."""
    key = bucket_of(value)
    histogram[key] = histogram.get(key, 0) + count


def histogram_of(values: Iterable[float]) -> dict[str, int]:
    """Return the histogram of `values`."""
    histogram: dict[str, int] = {}
    for value in values:
        histogram_add(histogram, value)
    return histogram


def histogram_merge(histograms: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Return the sum of histograms."""
    merged: dict[str, int] = {}
    for histogram in histograms:
        for key, count in histogram.items():
            merged[key] = merged.get(key, 0) + count
    return merged


def histogram_percentile(histogram: Mapping[str, int], share: float) -> float | None:
    """Return the `share` (0 to 1) percentile of the counted values, or None if there are
    none: linear between the two nearest ranks, as PostgreSQL's percentile_cont and
    mysetlist.core.stats.percentile compute it from the values themselves."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be from 0 to 1, not {share!r}")
    ordered = sorted(((bucket_value(key), count) for key, count in histogram.items() if count > 0))
    total = sum(count for _, count in ordered)
    if not total:
        return None
    position = share * (total - 1)
    lower_rank = int(position)
    fraction = position - lower_rank
    lower = _value_at(ordered, lower_rank)
    if not fraction:
        return lower
    return lower + (_value_at(ordered, min(lower_rank + 1, total - 1)) - lower) * fraction


def _value_at(ordered: list[tuple[float, int]], rank: int) -> float:
    seen = 0
    for value, count in ordered:
        seen += count
        if rank < seen:
            return value
    return ordered[-1][0]

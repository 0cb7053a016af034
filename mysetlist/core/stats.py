"""Statistics shared by the apps and the benchmarks. Pure: numpy, no Django."""

from collections.abc import Iterable

import numpy as np


def percentile(values: Iterable[float], share: float) -> float | None:
    """Return the `share` (0 to 1) percentile of values, or None when there are none.

    Linear between the two nearest ranks: PostgreSQL's percentile_cont, numpy's default and
    statistics.quantiles(method="inclusive"), so a percentile computed in SQL on PostgreSQL
    and here in Python over the same values agree.
    """
    ordered = np.fromiter(values, dtype=float)
    if not ordered.size:
        return None
    return float(np.percentile(ordered, share * 100))


def percentile_ranks(count: int, share: float) -> tuple[int, int, float]:
    """Return where `percentile` finds the `share` percentile of `count` sorted values: the
    0-based ranks of the two values it goes between and the fraction of the way from the
    first to the second. For a database that sends those two values alone."""
    position = share * (count - 1)
    lower = int(position)
    return lower, min(lower + 1, count - 1), position - lower


def percentile_between(lower: float, upper: float, fraction: float) -> float:
    """Return the percentile from the two values around it (see percentile_ranks), as
    `percentile` computes it from all of them."""
    return float(np.percentile([lower, upper], fraction * 100))

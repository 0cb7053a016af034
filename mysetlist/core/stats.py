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

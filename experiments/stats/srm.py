"""Sample ratio mismatch: do the arms' users match the configured split?"""

from __future__ import annotations

from collections.abc import Sequence

from scipy import stats as scipy_stats

__all__ = ["SRM_THRESHOLD", "srm_p_value"]

# GrowthBook warns of a sample ratio mismatch below this p-value.
SRM_THRESHOLD = 0.001


def srm_p_value(users: Sequence[float], weights: Sequence[float]) -> float:
    """Return the p-value of Pearson's chi-square test of `users` against `weights`.

    As gbstats 0.8.0's `check_srm`: weights are normalised, an arm of weight 0 adds
    nothing to the statistic yet still counts in the degrees of freedom (arms - 1), and an
    experiment without users has p = 1.
    """
    total = float(sum(users))
    if not total:
        return 1.0
    total_weight = float(sum(weights))
    statistic = 0.0
    for observed, weight in zip(users, weights, strict=True):
        if weight <= 0:
            continue
        expected = weight / total_weight * total
        statistic += (observed - expected) ** 2 / expected
    return float(scipy_stats.chi2.sf(statistic, len(users) - 1))

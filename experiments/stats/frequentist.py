"""Welch's t-test on the difference between a treatment arm and control.

The method is gbstats 0.8.0's `TwoSidedTTest`: the relative lift (variant - control) /
control carries the delta-method variance, the absolute difference the usual sum of the two
arms' variances of the mean, and both use the Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as scipy_stats

from .statistics import ArmStats

__all__ = [
    "Effect",
    "TTestResult",
    "absolute_effect",
    "relative_effect",
    "two_sided_t_test",
    "welch_dof",
]


@dataclass(frozen=True)
class Effect:
    """A point estimate of an effect, the variance of that estimate, and the test's dof."""

    estimate: float
    variance: float
    dof: float

    @property
    def stddev(self) -> float:
        """Return the standard error of the estimate."""
        return math.sqrt(self.variance)


@dataclass(frozen=True)
class TTestResult:
    """The two-sided p-value and the (1 - alpha) confidence interval of an effect."""

    p_value: float
    ci: tuple[float, float]


def welch_dof(control: ArmStats, variant: ArmStats) -> float:
    """Return the Welch-Satterthwaite degrees of freedom of the two arms."""
    va = control.variance / control.n
    vb = variant.variance / variant.n
    return (va + vb) ** 2 / (va**2 / (control.n - 1) + vb**2 / (variant.n - 1))


def relative_effect(control: ArmStats, variant: ArmStats) -> Effect:
    """Return the relative lift of `variant` over `control` with its delta-method variance.

    With CUPED the difference is of adjusted means while the base (and the variance's
    means) stay the unadjusted control mean, as gbstats has it.
    """
    base = control.unadjusted_mean
    estimate = (variant.mean - control.mean) / base
    variance = variant.variance / (base**2 * variant.n) + control.variance * (
        variant.unadjusted_mean**2
    ) / (base**4 * control.n)
    return Effect(estimate=estimate, variance=variance, dof=welch_dof(control, variant))


def absolute_effect(control: ArmStats, variant: ArmStats) -> Effect:
    """Return the difference of means of `variant` and `control` with its variance."""
    return Effect(
        estimate=variant.mean - control.mean,
        variance=variant.variance / variant.n + control.variance / control.n,
        dof=welch_dof(control, variant),
    )


def two_sided_t_test(effect: Effect, alpha: float) -> TTestResult:
    """Return the two-sided p-value of `effect` against 0 and its (1 - alpha) interval.

    gbstats writes the p-value as 2 * (1 - cdf); the survival function gives the same
    number without losing the digits of a very small p-value.
    """
    se = effect.stddev
    t = effect.estimate / se
    p_value = min(1.0, 2.0 * float(scipy_stats.t.sf(abs(t), effect.dof)))
    half_width = float(scipy_stats.t.ppf(1.0 - alpha / 2.0, effect.dof)) * se
    return TTestResult(
        p_value=p_value,
        ci=(effect.estimate - half_width, effect.estimate + half_width),
    )

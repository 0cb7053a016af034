"""Sample sizes to plan an experiment of two equal arms."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as scipy_stats

__all__ = ["SampleSize", "power_relative", "sample_size_binomial", "sample_size_mean"]


@dataclass(frozen=True)
class SampleSize:
    """Users needed by an experiment of two equal arms, control and one variant.

    The plan is for the test the analysis runs, as GrowthBook's power calculator plans it:
    a two-sided test of the relative lift at level alpha, whose standard error is the delta
    method's with the control's variance in both arms, under the normal approximation; the
    power counts significant results in either direction. `per_variant` is the smallest
    whole number of users in each arm that reaches the power asked for; `total` is twice it.
    """

    per_variant: int
    total: int


def _lift_stddev(mean: float, variance: float, relative_mde: float, per_variant: float) -> float:
    # Delta-method variance of the lift when the variant's mean is mean * (1 + mde).
    return math.sqrt(variance / per_variant * (1.0 + (1.0 + relative_mde) ** 2) / mean**2)


def power_relative(
    *, mean: float, variance: float, relative_mde: float, per_variant: float, alpha: float
) -> float:
    """Return the power of the two-sided test of the relative lift with `per_variant` users."""
    z = scipy_stats.norm.ppf(1.0 - alpha / 2.0)
    shift = relative_mde / _lift_stddev(mean, variance, relative_mde, per_variant)
    return float(scipy_stats.norm.sf(z - shift) + scipy_stats.norm.cdf(-z - shift))


def _validate(alpha: float, power: float, relative_mde: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1.")
    if not 0 < power < 1:
        raise ValueError("power must be between 0 and 1.")
    if not math.isfinite(relative_mde) or relative_mde == 0 or relative_mde <= -1:
        raise ValueError("relative_mde must be non-zero and above -1.")


def sample_size_mean(
    *,
    mean: float,
    variance: float,
    relative_mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> SampleSize:
    """Return the users needed to detect a relative change `relative_mde` of a mean metric.

    `mean` and `variance` are the metric's per-user mean and variance in control.
    """
    _validate(alpha, power, relative_mde)
    if not math.isfinite(mean) or mean == 0:
        raise ValueError("mean must be a non-zero number.")
    if not math.isfinite(variance) or variance <= 0:
        raise ValueError("variance must be positive.")
    k = scipy_stats.norm.ppf(1.0 - alpha / 2.0) + scipy_stats.norm.ppf(power)
    # Ignoring the far tail gives a size that is enough; the far tail may spare a user or two.
    users = math.ceil(
        k**2 * variance * (1.0 + (1.0 + relative_mde) ** 2) / (mean * relative_mde) ** 2
    )
    users = max(users, 2)
    while users > 2 and (
        power_relative(
            mean=mean,
            variance=variance,
            relative_mde=relative_mde,
            per_variant=users - 1,
            alpha=alpha,
        )
        >= power
    ):
        users -= 1
    return SampleSize(per_variant=users, total=2 * users)


def sample_size_binomial(
    *,
    baseline_rate: float,
    relative_mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> SampleSize:
    """Return the users needed to detect a relative change `relative_mde` of a rate.

    The variance is the control's, baseline_rate * (1 - baseline_rate), in both arms.
    """
    if not 0 < baseline_rate < 1:
        raise ValueError("baseline_rate must be between 0 and 1.")
    _validate(alpha, power, relative_mde)
    return sample_size_mean(
        mean=baseline_rate,
        variance=baseline_rate * (1.0 - baseline_rate),
        relative_mde=relative_mde,
        alpha=alpha,
        power=power,
    )

"""Always-valid (sequential) inference on an effect.

gbstats 0.8.0's `SequentialTwoSidedTTest`: the asymptotic confidence sequence of
Waudby-Smith et al. (arXiv:2103.06476v7, eq. 9) with the normal-mixture parameter rho of
their eq. 161, tuned by the number of users at which the boundary is tightest, and the
p-value as the reciprocal of the mixture e-value (their eq. 155), capped at 1. The per-user
variance is the effect's variance times N, the users of both arms together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .frequentist import Effect

__all__ = ["SequentialResult", "mixture_rho", "sequential_test"]

DEFAULT_TUNING = 5000.0


@dataclass(frozen=True)
class SequentialResult:
    """The always-valid p-value and the (1 - alpha) confidence sequence at this look."""

    p_value: float
    ci: tuple[float, float]


def mixture_rho(alpha: float, tuning: float) -> float:
    """Return the mixture parameter that makes the boundary tightest at `tuning` users."""
    log_alpha = math.log(alpha)
    return math.sqrt((-2.0 * log_alpha + math.log(1.0 - 2.0 * log_alpha)) / tuning)


def sequential_test(
    effect: Effect, n_total: int, alpha: float, tuning: float = DEFAULT_TUNING
) -> SequentialResult:
    """Return the always-valid p-value and interval of `effect` after `n_total` users.

    Both depend on alpha through rho, so the p-value is that of the boundary chosen for
    this alpha, as in gbstats.
    """
    rho = mixture_rho(alpha, tuning)
    n = float(n_total)
    scale = n * rho**2 + 1.0
    per_user_variance = effect.variance * n
    half_width = math.sqrt(per_user_variance) * math.sqrt(
        2.0 * scale * math.log(math.sqrt(scale) / alpha) / (n * rho) ** 2
    )
    # The log of the e-value keeps a huge z from overflowing exp().
    z2 = effect.estimate**2 / effect.variance
    log_evalue = rho**2 * z2 * n / (2.0 * scale) - 0.5 * math.log(scale)
    p_value = math.exp(-log_evalue) if log_evalue > 0 else 1.0
    return SequentialResult(
        p_value=p_value,
        ci=(effect.estimate - half_width, effect.estimate + half_width),
    )

"""Bayesian inference on the relative lift: a normal posterior.

gbstats 0.8.0's `EffectBayesianABTest`: the data give the lift a normal likelihood with the
delta-method variance; a proper normal prior on the relative lift is combined with it by
precision weighting, an improper (flat) prior leaves it as it is.

The credible interval is at 1 - alpha. gbstats' test class takes alpha too, but GrowthBook's
pipeline builds it without one, so GrowthBook always shows the 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special
from scipy import stats as scipy_stats

from .frequentist import Effect

__all__ = ["BayesianResult", "Prior", "bayesian_test", "expected_positive_part"]


@dataclass(frozen=True)
class Prior:
    """A normal prior on the relative lift; only used when `proper`."""

    mean: float = 0.0
    stddev: float = 0.3
    proper: bool = False


@dataclass(frozen=True)
class BayesianResult:
    """The posterior of the lift and what GrowthBook shows of it.

    `risk` is (risk of choosing control, risk of choosing the variant): the expected lift
    lost by the choice, E[max(lift, 0)] and E[max(-lift, 0)].
    """

    mean: float
    stddev: float
    chance_to_win: float
    risk: tuple[float, float]
    ci: tuple[float, float]


def expected_positive_part(mu: float, sigma: float) -> float:
    """Return E[max(X, 0)] for X ~ N(mu, sigma²).

    It equals sigma * (pdf(z) + z * cdf(z)) with z = mu / sigma; for negative z that
    difference cancels, so it is taken as pdf(z) * (1 - |z| * Mills ratio) instead.
    """
    z = mu / sigma
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    if z >= 0:
        return sigma * (pdf + z * float(special.ndtr(z)))
    t = -z
    mills = math.sqrt(math.pi / 2.0) * float(special.erfcx(t / math.sqrt(2.0)))
    return sigma * pdf * max(0.0, 1.0 - t * mills)


def bayesian_test(effect: Effect, prior: Prior, alpha: float) -> BayesianResult:
    """Return the posterior of the relative lift given the data's `effect` and `prior`."""
    precision = 1.0 / effect.variance
    if prior.proper:
        prior_precision = 1.0 / prior.stddev**2
        mean = (effect.estimate * precision + prior.mean * prior_precision) / (
            precision + prior_precision
        )
        precision += prior_precision
    else:
        mean = effect.estimate
    stddev = math.sqrt(1.0 / precision)
    chance_to_win = float(scipy_stats.norm.sf(0.0, loc=mean, scale=stddev))
    risk = (expected_positive_part(mean, stddev), expected_positive_part(-mean, stddev))
    z = float(scipy_stats.norm.ppf(1.0 - alpha / 2.0))
    return BayesianResult(
        mean=mean,
        stddev=stddev,
        chance_to_win=chance_to_win,
        risk=risk,
        ci=(mean - z * stddev, mean + z * stddev),
    )

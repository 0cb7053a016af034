"""Anomaly detection without hand-set thresholds: a value against its own seasonal past.
Pure: no Django.

Two detectors, both robust to the spikes they look for:
- the modified z-score of Iglewicz and Hoaglin (1993): how many robust standard deviations
  (1.4826 × the median absolute deviation, which estimates σ for normal data) a value lies
  from the median of the same hour in past weeks; above 3.5 it is an outlier, their rule;
- an exponentially weighted moving average with its variance, the control chart of Roberts
  (1959) as Lucas and Saccucci (1990) tuned it: a value outside mean ± k·σ of the smoothed
  past is out of control.

Alert rules in anomaly mode use `seasonal` (monitoring.anomalies.services), and vote
flags its robust z-score (monitoring.voting.detect).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MAD_TO_SIGMA = 1.4826  # 1 / Φ⁻¹(3/4): a normal sample's MAD times this estimates σ
OUTLIER_Z = 3.5  # Iglewicz and Hoaglin's cut-off for the modified z-score
MIN_HISTORY = 3  # fewer past values say nothing about a season


@dataclass(frozen=True)
class Verdict:
    score: float | None  # the modified z-score (or the EWMA's deviation in σ); None: no say
    anomalous: bool
    expected: float | None  # the baseline the value was held against


def robust_scale(history: Sequence[float], *, floor: float = 0.0) -> float:
    """Return the robust standard deviation of `history` (1.4826 × MAD), at least `floor`:
    a flat history (MAD 0) would make every change infinitely unusual."""
    centre = statistics.median(history)
    mad = statistics.median(abs(x - centre) for x in history)
    return max(MAD_TO_SIGMA * mad, floor)


def seasonal(
    value: float,
    history: Sequence[float],
    *,
    threshold: float = OUTLIER_Z,
    relative_floor: float = 0.05,
    absolute_floor: float = 1.0,
    direction: str = "both",
) -> Verdict:
    """Judge `value` against `history`, the same figure at the same hour of past weeks.

    The scale never falls below `relative_floor` of the baseline nor `absolute_floor`, so a
    quiet, flat season does not make one more vote an alarm. `direction` is "up", "down" or
    "both": a vote burst matters up, a collapse of events down.
    """
    past = [x for x in history if x is not None and math.isfinite(x)]
    if len(past) < MIN_HISTORY or not math.isfinite(value):
        return Verdict(None, False, None)
    expected = statistics.median(past)
    scale = robust_scale(past, floor=max(relative_floor * abs(expected), absolute_floor))
    score = (value - expected) / scale
    return Verdict(score, _beyond(score, threshold, direction), expected)


def ewma(
    value: float,
    history: Sequence[float],
    *,
    alpha: float = 0.3,
    k: float = 3.0,
    floor: float = 1.0,
    direction: str = "both",
) -> Verdict:
    """Judge `value` against the exponentially weighted mean and variance of `history`
    (oldest first), smoothing `alpha`; out of control beyond `k` standard deviations."""
    if not 0 < alpha <= 1:
        raise ValueError("alpha must be in (0, 1].")
    past = [x for x in history if x is not None and math.isfinite(x)]
    if len(past) < MIN_HISTORY or not math.isfinite(value):
        return Verdict(None, False, None)
    mean, variance = past[0], 0.0
    for x in past[1:]:
        step = x - mean
        mean += alpha * step
        variance = (1 - alpha) * (variance + alpha * step * step)
    score = (value - mean) / max(math.sqrt(variance), floor)
    return Verdict(score, _beyond(score, k, direction), mean)


def _beyond(score: float, threshold: float, direction: str) -> bool:
    if direction == "up":
        return score > threshold
    if direction == "down":
        return score < -threshold
    if direction == "both":
        return abs(score) > threshold
    raise ValueError(f"direction must be up, down or both, not {direction!r}.")

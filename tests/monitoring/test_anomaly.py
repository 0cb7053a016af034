"""The anomaly detectors on their own: against scipy's robust scale and a direct EWMA, on
an injected burst and on ordinary days."""

import math
import random

import pytest
from scipy import stats

from monitoring import anomaly

# Votes a minute at 20:00 on past Fridays: ordinary noise around 120.
FRIDAYS = [118, 131, 109, 125, 122, 140, 115, 127]


def test_the_robust_scale_is_scipys_normal_scaled_mad():
    rng = random.Random(7)
    sample = [rng.gauss(50, 8) for _ in range(101)]
    expected = stats.median_abs_deviation(sample, scale="normal")
    assert anomaly.robust_scale(sample) == pytest.approx(expected, rel=1e-3)


def test_a_burst_is_flagged_and_an_ordinary_evening_is_not():
    burst = anomaly.seasonal(900, FRIDAYS)
    ordinary = anomaly.seasonal(133, FRIDAYS)

    assert burst.anomalous and burst.score > 20 and burst.expected == 123.5
    assert not ordinary.anomalous and 0 < ordinary.score < anomaly.OUTLIER_Z


def test_one_spike_in_the_past_does_not_hide_the_next():
    spiky = [*FRIDAYS[:-1], 5000]  # last week's burst is in the history
    assert anomaly.seasonal(900, spiky).anomalous  # the median and MAD ignore it


def test_direction_decides_which_side_counts():
    assert not anomaly.seasonal(900, FRIDAYS, direction="down").anomalous
    assert anomaly.seasonal(5, FRIDAYS, direction="down").anomalous
    with pytest.raises(ValueError, match="direction"):
        anomaly.seasonal(5, FRIDAYS, direction="sideways")


def test_a_flat_quiet_season_does_not_alarm_on_one_more():
    assert not anomaly.seasonal(3, [2, 2, 2, 2]).anomalous  # the floors keep the scale sane
    assert anomaly.seasonal(30, [2, 2, 2, 2]).anomalous


def test_too_little_history_has_no_say():
    verdict = anomaly.seasonal(900, [120, 130])
    assert verdict == anomaly.Verdict(None, False, None)
    assert anomaly.ewma(900, [1.0, math.nan]).score is None


def test_the_ewma_is_the_recursion_written_out():
    series = [10.0, 12.0, 11.0, 13.0, 12.0, 14.0]
    alpha = 0.3
    mean, variance = series[0], 0.0
    for x in series[1:]:
        diff = x - mean
        incr = alpha * diff
        mean = mean + incr
        variance = (1 - alpha) * (variance + diff * incr)

    verdict = anomaly.ewma(40.0, series, alpha=alpha, floor=0.0)

    assert verdict.expected == pytest.approx(mean)
    assert verdict.score == pytest.approx((40.0 - mean) / math.sqrt(variance))
    assert verdict.anomalous
    assert not anomaly.ewma(13.0, series, alpha=alpha).anomalous
    with pytest.raises(ValueError, match="alpha"):
        anomaly.ewma(1.0, series, alpha=0)

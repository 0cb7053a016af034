import random
import statistics

import pytest

from mysetlist.core.stats import percentile, percentile_between, percentile_ranks


def test_percentile_of_nothing_is_none():
    assert percentile([], 0.5) is None
    assert percentile(iter(()), 0.99) is None


def test_percentile_of_one_value_is_that_value():
    assert percentile([7], 0.99) == 7.0
    assert percentile([7], 0.0) == 7.0


def test_percentile_is_linear_between_ranks():
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)
    assert percentile([5, 1, 4, 2, 3], 0.75) == 4.0  # on a rank: that value
    assert percentile([1000, 2000], 0.75) == 1750.0
    assert (percentile([1, 9], 0.0), percentile([1, 9], 1.0)) == (1.0, 9.0)


def test_percentile_takes_any_iterable_and_returns_a_plain_float():
    result = percentile((value for value in (3, 1, 2)), 0.5)

    assert result == 2.0 and type(result) is float


def test_percentile_agrees_with_inclusive_quantiles():
    rng = random.Random(11)
    for size in (2, 3, 10, 41, 1000):
        values = [rng.uniform(0, 90_000) for _ in range(size)]
        cuts = statistics.quantiles(values, n=100, method="inclusive")

        assert percentile(values, 0.5) == pytest.approx(statistics.median(values))
        assert percentile(values, 0.9) == pytest.approx(cuts[89])
        assert percentile(values, 0.99) == pytest.approx(cuts[98])


def test_percentile_from_the_two_values_around_it_equals_percentile():
    rng = random.Random(5)
    for size in (1, 2, 3, 4, 7, 100, 1001):
        values = sorted(rng.uniform(0, 5000) for _ in range(size))
        for share in (0.0, 0.25, 0.5, 0.75, 0.99, 1.0):
            lower, upper, fraction = percentile_ranks(size, share)

            assert percentile_between(values[lower], values[upper], fraction) == percentile(
                values, share
            )

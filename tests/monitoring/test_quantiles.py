import pytest

from monitoring.quantiles import LATENCY_BOUNDS, bucket_index, quantile


def test_bucket_index_puts_a_value_on_a_bound_in_that_bound_s_bucket():
    assert bucket_index(0.0) == 0
    assert bucket_index(0.005) == 0
    assert bucket_index(0.006) == 1
    assert bucket_index(99.0) == len(LATENCY_BOUNDS)


def test_quantile_is_linear_inside_its_bucket():
    # 10 values in (0, 5 ms], 10 in (5, 10 ms]: the median is the first bucket's top.
    counts = {0: 10, 1: 10}
    assert quantile(counts, 0.5) == pytest.approx(0.005)
    assert quantile(counts, 0.75) == pytest.approx(0.0075)
    assert quantile(counts, 1.0) == pytest.approx(0.01)


def test_quantile_of_nothing_is_none_and_the_inf_bucket_answers_its_lower_bound():
    assert quantile({}, 0.5) is None
    assert quantile({len(LATENCY_BOUNDS): 3}, 0.99) == LATENCY_BOUNDS[-1]


def test_quantile_refuses_a_share_outside_0_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile({0: 1}, 1.5)

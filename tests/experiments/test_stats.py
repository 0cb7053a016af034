"""The statistics against scipy and statsmodels wherever they compute the same thing."""

import ast
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

import experiments.stats
from experiments.stats import MIN_USERS, analyse, sample_size_binomial, sample_size_mean
from experiments.stats.bayesian import Prior, bayesian_test, expected_positive_part
from experiments.stats.corrections import benjamini_hochberg, holm
from experiments.stats.frequentist import Effect, absolute_effect, relative_effect
from experiments.stats.power import power_relative
from experiments.stats.sequential import sequential_test
from experiments.stats.srm import srm_p_value
from experiments.stats.statistics import (
    AdjustedStats,
    MeanStats,
    ProportionStats,
    RatioStats,
    cuped_pair,
    ratio_stats,
)

REL = 1e-6


def close(a, b, rel=REL, abs_=0.0):
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def mean_body(a, b):
    """An analysis body of two arms of per-user values."""
    return {
        "metric": "mean",
        "variants": [
            {"name": name, "users": len(x), "sum": float(x.sum()), "sum_squares": float(x @ x)}
            for name, x in (("control", a), ("B", b))
        ],
    }


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20240601)


def test_mean_statistics_match_numpy(rng):
    x = rng.gamma(2.0, 3.0, size=400)
    stats = MeanStats(n=len(x), sum=float(x.sum()), sum_squares=float(x @ x))
    assert close(stats.mean, x.mean())
    assert close(stats.variance, x.var(ddof=1))


@pytest.mark.parametrize(
    ("control", "variant"),
    [((1000, 100), (1000, 130)), ((52000, 3100), (51000, 3180)), ((60, 9), (55, 14))],
)
def test_binomial_absolute_welch_test_matches_scipy(control, variant):
    result = analyse(
        {
            "metric": "binomial",
            "variants": [
                {"name": "control", "users": control[0], "conversions": control[1]},
                {"name": "B", "users": variant[0], "conversions": variant[1]},
            ],
        }
    )["variants"]["B"]
    (na, ca), (nb, cb) = control, variant
    pa, pb = ca / na, cb / nb
    # gbstats' proportion variance is p(1 - p), which scipy is given as the std.
    expected = scipy_stats.ttest_ind_from_stats(
        pb, math.sqrt(pb * (1 - pb)), nb, pa, math.sqrt(pa * (1 - pa)), na, equal_var=False
    )
    assert close(result["p_value_absolute"], expected.pvalue)
    # scipy gives no interval from summary statistics: rebuild it from its t statistic.
    se = (pb - pa) / expected.statistic
    va, vb = pa * (1 - pa) / na, pb * (1 - pb) / nb
    dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = scipy_stats.t.ppf(0.975, dof) * se
    assert close(result["ci95_absolute"][0], pb - pa - half)
    assert close(result["ci95_absolute"][1], pb - pa + half)
    assert close(result["absolute_diff"], pb - pa)


def test_mean_absolute_welch_test_matches_scipy_on_raw_data(rng):
    a = rng.lognormal(1.0, 0.8, size=700)
    b = rng.lognormal(1.08, 0.8, size=650)
    body = mean_body(a, b)
    body["alpha"] = 0.1
    result = analyse(body)["variants"]["B"]
    expected = scipy_stats.ttest_ind(b, a, equal_var=False)
    assert close(result["p_value_absolute"], expected.pvalue)
    ci = expected.confidence_interval(0.9)
    assert close(result["ci95_absolute"][0], ci.low)
    assert close(result["ci95_absolute"][1], ci.high)


def test_relative_interval_is_the_delta_method_around_the_lift(rng):
    a = rng.normal(10, 3, size=500)
    b = rng.normal(10.5, 3.5, size=520)
    result = analyse(mean_body(a, b))["variants"]["B"]
    lift = b.mean() / a.mean() - 1
    se = math.sqrt(
        b.var(ddof=1) / (a.mean() ** 2 * len(b))
        + a.var(ddof=1) * b.mean() ** 2 / (a.mean() ** 4 * len(a))
    )
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert close(result["relative_uplift"], lift)
    assert close(result["p_value"], 2 * scipy_stats.t.sf(abs(lift / se), dof))
    half = scipy_stats.t.ppf(0.975, dof) * se
    assert close(result["ci95"][0], lift - half) and close(result["ci95"][1], lift + half)


def test_cuped_is_welch_on_the_adjusted_values_with_the_pooled_slope(rng):
    pre_a, pre_b = rng.gamma(3.0, 2.0, size=800), rng.gamma(3.0, 2.0, size=760)
    post_a = 0.8 * pre_a + rng.normal(1.0, 1.5, size=800)
    post_b = 0.8 * pre_b + rng.normal(1.3, 1.5, size=760)

    def arm(post, pre):
        return AdjustedStats(
            post=MeanStats(n=len(post), sum=post.sum(), sum_squares=post @ post),
            pre=MeanStats(n=len(pre), sum=pre.sum(), sum_squares=pre @ pre),
            cross_sum=post @ pre,
        )

    a, b = cuped_pair(arm(post_a, pre_a), arm(post_b, pre_b))
    pre, post = np.concatenate([pre_a, pre_b]), np.concatenate([post_a, post_b])
    theta = np.cov(post, pre, ddof=1)[0, 1] / pre.var(ddof=1)
    assert close(a.theta, theta) and close(b.theta, theta)
    adj_a, adj_b = post_a - theta * pre_a, post_b - theta * pre_b
    assert close(a.variance, adj_a.var(ddof=1)) and close(b.variance, adj_b.var(ddof=1))
    assert b.variance < post_b.var(ddof=1) / 2  # the point of CUPED
    effect = absolute_effect(a, b)
    expected = scipy_stats.ttest_ind(adj_b, adj_a, equal_var=False)
    assert close(effect.estimate, adj_b.mean() - adj_a.mean())
    assert close(effect.estimate / effect.stddev, expected.statistic)
    assert close(effect.dof, expected.df)
    # The relative lift keeps the unadjusted control mean as its base.
    assert close(relative_effect(a, b).estimate, (adj_b.mean() - adj_a.mean()) / post_a.mean())


def ratio_variant(name, m, d):
    """A ratio arm of an analysis body from per-user numerator and denominator values."""
    return {
        "name": name,
        "users": len(m),
        "numerator_sum": float(m.sum()),
        "numerator_sum_squares": float(m @ m),
        "denominator_sum": float(d.sum()),
        "denominator_sum_squares": float(d @ d),
        "numerator_denominator_sum_products": float(m @ d),
    }


def page_views_and_votes(rng, n, rate):
    views = 1.0 + rng.poisson(4.0, size=n)
    return rng.binomial(views.astype(int), rate).astype(float), views


def test_ratio_statistics_are_the_delta_method_on_per_user_data(rng):
    votes, views = page_views_and_votes(rng, 900, 0.2)
    stats = ratio_stats(
        **{k: v for k, v in ratio_variant("a", votes, views).items() if k != "name"}
    )
    assert isinstance(stats, RatioStats) and stats.n == 900
    ratio = votes.sum() / views.sum()
    assert close(stats.mean, ratio, rel=1e-12)
    assert close(stats.covariance, np.cov(votes, views, ddof=1)[0, 1], rel=1e-9)
    # The gradient of m / d at the means, through numpy's covariance matrix...
    gradient = np.array([1.0 / views.mean(), -votes.mean() / views.mean() ** 2])
    assert close(stats.variance, gradient @ np.cov(votes, views, ddof=1) @ gradient, rel=1e-9)
    # ...and, the same thing another way, the variance of each user's residual from the
    # ratio, scaled by the mean denominator.
    residual = votes - ratio * views
    assert close(stats.variance, residual.var(ddof=1) / views.mean() ** 2, rel=1e-9)


def test_ratio_variance_over_n_is_the_spread_of_the_ratio_over_many_experiments():
    rng = np.random.default_rng(11)
    runs, n = 4000, 400
    views = 1.0 + rng.poisson(4.0, size=(runs, n))
    votes = rng.binomial(views.astype(int), 0.2).astype(float) + rng.gamma(0.5, 1.0, (runs, n))
    ratios = votes.sum(axis=1) / views.sum(axis=1)
    predicted = [
        ratio_stats(
            users=n,
            numerator_sum=m.sum(),
            numerator_sum_squares=m @ m,
            denominator_sum=d.sum(),
            denominator_sum_squares=d @ d,
            numerator_denominator_sum_products=m @ d,
        ).variance
        / n
        for m, d in zip(votes[:200], views[:200], strict=True)
    ]
    # The spread of 4000 ratios is known to about 2% (one standard error).
    assert close(float(np.mean(predicted)), ratios.var(ddof=1), rel=0.08)


def test_ratio_of_a_denominator_of_one_per_user_is_the_mean_of_the_numerator(rng):
    a, b = rng.gamma(2.0, 1.5, size=600), rng.gamma(2.1, 1.5, size=640)
    ones_a, ones_b = np.ones_like(a), np.ones_like(b)
    body = {"metric": "ratio", "variants": [ratio_variant("control", a, ones_a)]}
    body["variants"].append(ratio_variant("B", b, ones_b))
    body["prior"] = {"mean": 0.05, "stddev": 0.2, "proper": True}
    ratio, mean = analyse(body), analyse({**mean_body(a, b), "prior": body["prior"]})
    assert ratio["control_mean"] == pytest.approx(mean["control_mean"], rel=1e-12)
    for key, value in mean["variants"]["B"].items():
        assert ratio["variants"]["B"][key] == pytest.approx(value, rel=1e-9), key


def test_ratio_relative_lift_is_the_delta_method_of_the_two_ratios(rng):
    control = page_views_and_votes(rng, 1500, 0.2)
    variant = page_views_and_votes(rng, 1450, 0.22)
    body = {
        "metric": "ratio",
        "variants": [ratio_variant("control", *control), ratio_variant("B", *variant)],
    }
    result = analyse(body)["variants"]["B"]
    a, b = (
        ratio_stats(**{k: v for k, v in ratio_variant("x", *arm).items() if k != "name"})
        for arm in (control, variant)
    )
    se = math.sqrt(b.variance / (a.mean**2 * b.n) + a.variance * b.mean**2 / (a.mean**4 * a.n))
    lift = b.mean / a.mean - 1
    assert close(result["relative_uplift"], lift)
    assert close(result["absolute_diff"], b.mean - a.mean)
    va, vb = a.variance / a.n, b.variance / b.n
    dof = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    assert close(result["p_value"], 2 * scipy_stats.t.sf(abs(lift / se), dof))
    assert close(
        result["p_value_absolute"], 2 * scipy_stats.t.sf((b.mean - a.mean) / (va + vb) ** 0.5, dof)
    )


def test_cuped_without_pre_period_variance_falls_back_to_the_plain_statistics():
    def arm(total):
        return AdjustedStats(
            post=MeanStats(n=100, sum=total, sum_squares=total * 3),
            pre=MeanStats(n=100, sum=100.0, sum_squares=100.0),
            cross_sum=total,
        )

    a, b = cuped_pair(arm(120.0), arm(130.0))
    assert isinstance(a, MeanStats) and isinstance(b, MeanStats)


@pytest.mark.parametrize(
    ("users", "weights"),
    [
        ([5000, 5400, 4700], [1 / 3, 1 / 3, 1 / 3]),
        ([1000, 1010], [0.5, 0.5]),
        ([300, 700, 1000], [0.2, 0.3, 0.5]),
    ],
)
def test_srm_matches_scipy_chisquare(users, weights):
    expected = scipy_stats.chisquare(users, f_exp=np.array(weights) * sum(users))
    assert close(srm_p_value(users, weights), expected.pvalue)


def test_srm_without_users_is_no_mismatch():
    assert srm_p_value([0, 0], [0.5, 0.5]) == 1.0


@pytest.mark.parametrize(
    "p_values",
    [
        [0.01, 0.04, 0.03, 0.2],
        [0.5],
        [0.02, 0.02, 0.8, 0.001, 0.049],
        [0.9, 0.95, 0.99],
    ],
)
def test_corrections_match_statsmodels(p_values):
    for ours, method in ((holm, "holm"), (benjamini_hochberg, "fdr_bh")):
        expected = multipletests(p_values, method=method)[1]
        assert np.allclose(ours(p_values), expected, rtol=REL, atol=0)


def test_corrections_in_analyse_span_the_treatment_arms():
    body = {
        "metric": "binomial",
        "variants": [
            {"name": "control", "users": 3000, "conversions": 300},
            {"name": "B", "users": 3000, "conversions": 350},
            {"name": "C", "users": 3000, "conversions": 330},
            {"name": "D", "users": 30, "conversions": 3},
        ],
    }
    result = analyse(body)["variants"]
    raw = [result["B"]["p_value"], result["C"]["p_value"]]
    assert [result[n]["p_value_holm"] for n in "BC"] == pytest.approx(
        multipletests(raw, method="holm")[1], rel=REL
    )
    assert [result[n]["p_value_bh"] for n in "BC"] == pytest.approx(
        multipletests(raw, method="fdr_bh")[1], rel=REL
    )
    assert result["D"]["p_value_holm"] is None


@pytest.mark.parametrize(("mu", "sigma"), [(0.1, 0.05), (-0.1, 0.05), (0.0, 1.0), (-2.0, 0.1)])
def test_expected_positive_part_matches_a_truncated_normal(mu, sigma):
    # E[max(X, 0)] = P(X > 0) * E[X | X > 0]
    a = (0 - mu) / sigma
    expected = scipy_stats.norm.sf(0, mu, sigma) * scipy_stats.truncnorm.mean(
        a, np.inf, loc=mu, scale=sigma
    )
    assert close(expected_positive_part(mu, sigma), expected)


def test_bayesian_posterior_with_a_proper_prior():
    effect = Effect(estimate=0.08, variance=0.04**2, dof=1000)
    prior = Prior(mean=0.0, stddev=0.05, proper=True)
    result = bayesian_test(effect, prior, alpha=0.05)
    precision = 1 / 0.04**2 + 1 / 0.05**2
    mean = 0.08 / 0.04**2 / precision
    assert close(result.mean, mean) and close(result.stddev, precision**-0.5)
    assert close(result.chance_to_win, scipy_stats.norm.cdf(mean * precision**0.5))
    flat = bayesian_test(effect, Prior(proper=False), alpha=0.05)
    assert flat.mean == 0.08 and close(flat.stddev, 0.04)


def test_sequential_interval_excludes_zero_exactly_when_p_is_below_alpha():
    for estimate in np.linspace(0.0, 0.2, 41):
        effect = Effect(estimate=float(estimate), variance=0.03**2, dof=5000)
        result = sequential_test(effect, n_total=6000, alpha=0.05, tuning=5000)
        if not math.isclose(result.p_value, 0.05, rel_tol=1e-9):
            assert (result.ci[0] > 0) == (result.p_value < 0.05)


def test_sequential_interval_is_wider_than_the_fixed_one():
    body = {
        "metric": "binomial",
        "variants": [
            {"name": "control", "users": 10000, "conversions": 1000},
            {"name": "B", "users": 10000, "conversions": 1100},
        ],
    }
    b = analyse(body)["variants"]["B"]
    assert b["seq_ci95"][0] < b["ci95"][0] and b["seq_ci95"][1] > b["ci95"][1]
    assert b["seq_p_value"] > b["p_value"]


@pytest.mark.parametrize(
    ("mean", "variance", "mde"), [(0.1, 0.09, 0.1), (25.0, 400.0, 0.05), (3.0, 2.0, -0.2)]
)
def test_sample_size_matches_statsmodels(mean, variance, mde):
    # statsmodels' two-sample z-test has the variance of both arms equal; GrowthBook's
    # relative variance is sigma²/N * (1 + (1 + mde)²) / mean², which the effect size absorbs.
    effect_size = abs(mde) * mean / math.sqrt(variance * (1 + (1 + mde) ** 2) / 2)
    expected = NormalIndPower().solve_power(
        effect_size=effect_size, alpha=0.05, power=0.8, ratio=1.0, alternative="two-sided"
    )
    size = sample_size_mean(mean=mean, variance=variance, relative_mde=mde)
    assert size.per_variant == math.ceil(expected)
    assert size.total == 2 * size.per_variant
    power = NormalIndPower().power(effect_size, size.per_variant, 0.05, alternative="two-sided")
    assert (
        power
        >= 0.8
        > NormalIndPower().power(effect_size, size.per_variant - 1, 0.05, alternative="two-sided")
    )
    assert close(
        power_relative(
            mean=mean, variance=variance, relative_mde=mde, per_variant=size.per_variant, alpha=0.05
        ),
        power,
    )


def test_sample_size_binomial_uses_the_bernoulli_variance():
    size = sample_size_binomial(baseline_rate=0.1, relative_mde=0.1, alpha=0.05, power=0.8)
    assert size == sample_size_mean(mean=0.1, variance=0.09, relative_mde=0.1)
    assert 14000 < size.per_variant < 16000
    with pytest.raises(ValueError):
        sample_size_binomial(baseline_rate=1.2, relative_mde=0.1)


def test_proportion_variance_is_bernoulli():
    assert close(ProportionStats(n=200, sum=50).variance, 0.25 * 0.75)


def test_ratio_corrections_span_the_treatment_arms(rng):
    arms = [("control", 0.2), ("B", 0.22), ("C", 0.205), ("D", 0.2)]
    body = {
        "metric": "ratio",
        "variants": [
            ratio_variant(name, *page_views_and_votes(rng, 2000, rate)) for name, rate in arms
        ],
    }
    result = analyse(body)["variants"]
    raw = [result[name]["p_value"] for name in "BCD"]
    for key, method in (("p_value_holm", "holm"), ("p_value_bh", "fdr_bh")):
        expected = multipletests(raw, method=method)[1]
        assert np.allclose([result[name][key] for name in "BCD"], expected, rtol=REL, atol=0)


@pytest.mark.parametrize(
    ("control", "variant", "reason"),
    [
        ((100, 0.0, 0.0), (100, 50.0, 200.0), "The control's denominator is zero."),
        ((100, 50.0, 200.0), (100, 0.0, 0.0), "This variant's denominator is zero."),
        ((100, 0.0, 200.0), (100, 50.0, 200.0), "The control's ratio is zero."),
        ((100, 50.0, 200.0), (49, 30.0, 100.0), f"Fewer than {MIN_USERS} users in this variant."),
        ((0, 0.0, 0.0), (0, 0.0, 0.0), f"Fewer than {MIN_USERS} users in this variant."),
    ],
)
def test_ratio_without_enough_data_gets_a_reason_not_a_number(control, variant, reason):
    def arm(name, users, numerator, denominator):
        # Each user's values are the arm's means, plus some spread for the variances.
        return {
            "name": name,
            "users": users,
            "numerator_sum": numerator,
            "numerator_sum_squares": 2 * numerator * numerator / users if users else 0.0,
            "denominator_sum": denominator,
            "denominator_sum_squares": 2 * denominator * denominator / users if users else 0.0,
            "numerator_denominator_sum_products": numerator * denominator / users if users else 0.0,
        }

    result = analyse({"metric": "ratio", "variants": [arm("a", *control), arm("b", *variant)]})
    json.dumps(result, allow_nan=False)
    assert result["not_enough_data"] == [{"variant": "b", "reason": reason}]
    assert result["variants"]["b"]["p_value"] is None


@pytest.mark.parametrize(
    "variants",
    [
        [{"name": "a", "users": 0, "conversions": 0}, {"name": "b", "users": 0, "conversions": 0}],
        [
            {"name": "a", "users": 100, "conversions": 100},
            {"name": "b", "users": 100, "conversions": 50},
        ],
        [
            {"name": "a", "users": 100, "conversions": 50},
            {"name": "b", "users": 100, "conversions": 0},
        ],
        [
            {"name": "a", "users": 10**12, "conversions": 1},
            {"name": "b", "users": 10**12, "conversions": 10**11},
        ],
    ],
)
def test_edge_cases_give_json_without_nan_and_never_crash(variants):
    result = analyse({"metric": "binomial", "variants": variants})
    json.dumps(result, allow_nan=False)
    row = result["variants"]["b"]
    if row["p_value"] is None:
        assert [item["variant"] for item in result["not_enough_data"]] == ["b"]


def test_the_package_imports_only_the_standard_library_numpy_and_scipy():
    package = Path(experiments.stats.__file__).parent
    allowed = {"numpy", "scipy"} | set(sys.stdlib_module_names)
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, (path.name, name)

"""Write reference_cases.json: the figures GrowthBook's own gbstats 0.8.0 gives for each case.

Run it with gbstats in a virtualenv of its own (it pins numpy<2 and pandas<2, which the
project does not use), from the repository root:

    python3 -m venv /tmp/gbvenv
    /tmp/gbvenv/bin/pip install gbstats==0.8.0
    /tmp/gbvenv/bin/python tests/experiments/make_reference_cases.py

Last run with what pip resolved for gbstats 0.8.0 on Python 3.11: numpy 1.26.4, pandas
1.5.3, scipy 1.17.1. Rerunning must leave the existing cases unchanged (check the diff).

The file name keeps pytest from collecting it. Each case is an `analyse` body; the script
feeds the same totals to gbstats' test classes (TwoSidedTTest on the relative and on the
absolute difference, SequentialTwoSidedTTest, EffectBayesianABTest) and to check_srm,
each with its own fresh statistics because gbstats sets the CUPED slope on them. A ratio
arm becomes a RatioStatistic of two SampleMeanStatistics, as gbstats' pipeline builds one
for a ratio of two count metrics. The ratio cases' totals are of simulated per-user counts
(page views 1 + Poisson(4), votes Binomial(page views, p)), written out here as integers.
"""

import json
import math
from importlib.metadata import version
from pathlib import Path

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm

OUT = Path(__file__).with_name("reference_cases.json")


def binomial(name, users, conversions, **cuped):
    return {"name": name, "users": users, "conversions": conversions, **cuped}


def mean(name, users, total, squares, **cuped):
    return {"name": name, "users": users, "sum": total, "sum_squares": squares, **cuped}


def ratio(name, users, numerator, denominator, products):
    """A ratio arm: (sum, sum of squares) of the numerator and of the denominator."""
    return {
        "name": name,
        "users": users,
        "numerator_sum": numerator[0],
        "numerator_sum_squares": numerator[1],
        "denominator_sum": denominator[0],
        "denominator_sum_squares": denominator[1],
        "numerator_denominator_sum_products": products,
    }


CASES = [
    {
        "name": "binomial two arms",
        "body": {
            "metric": "binomial",
            "variants": [binomial("control", 4000, 480), binomial("B", 4100, 547)],
        },
    },
    {
        "name": "mean two arms, control second, unequal weights",
        "body": {
            "metric": "mean",
            "variants": [mean("B", 2950, 9050.5, 61250.0), mean("control", 3050, 8800.25, 58100.0)],
            "weights": [0.49, 0.51],
            "control_index": 1,
        },
    },
    {
        "name": "three arms with a sample ratio mismatch",
        "body": {
            "metric": "binomial",
            "variants": [
                binomial("control", 5000, 400),
                binomial("B", 5400, 455),
                binomial("C", 4700, 352),
            ],
        },
    },
    {
        "name": "mean metric, proper prior, sequential testing, alpha 0.1",
        "body": {
            "metric": "mean",
            "variants": [mean("control", 1500, 3300.0, 21000.0), mean("B", 1520, 3500.0, 22800.0)],
            "alpha": 0.1,
            "sequential_tuning": 2000,
            "prior": {"mean": 0.02, "stddev": 0.1, "proper": True},
        },
    },
    {
        "name": "no conversions in control",
        "body": {
            "metric": "binomial",
            "variants": [binomial("control", 800, 0), binomial("B", 800, 12)],
        },
    },
    {
        "name": "CUPED on a mean metric",
        "body": {
            "metric": "mean",
            "variants": [
                mean(
                    "control",
                    3000,
                    6100.0,
                    30500.0,
                    pre_sum=5900.0,
                    pre_sum_squares=29000.0,
                    cross_sum=24100.0,
                ),
                mean(
                    "B",
                    3000,
                    6450.0,
                    33100.0,
                    pre_sum=5950.0,
                    pre_sum_squares=29400.0,
                    cross_sum=25600.0,
                ),
                mean(
                    "C",
                    2900,
                    5800.0,
                    28700.0,
                    pre_sum=5700.0,
                    pre_sum_squares=28200.0,
                    cross_sum=22300.0,
                ),
            ],
        },
    },
    {
        "name": "CUPED on a binomial metric",
        "body": {
            "metric": "binomial",
            "variants": [
                binomial("control", 6000, 720, pre_sum=690, cross_sum=300),
                binomial("B", 6000, 790, pre_sum=700, cross_sum=330),
            ],
        },
    },
    {
        "name": "a significant loser",
        "body": {
            "metric": "binomial",
            "variants": [
                binomial("control", 20000, 2000),
                binomial("B", 20000, 1700),
                binomial("C", 20000, 2040),
            ],
        },
    },
    {
        "name": "small samples: one arm below 50 users",
        "body": {
            "metric": "binomial",
            "variants": [
                binomial("control", 60, 9),
                binomial("B", 55, 14),
                binomial("C", 40, 8),
            ],
            "weights": [0.4, 0.4, 0.2],
        },
    },
    {
        "name": "no variance in a variant",
        "body": {
            "metric": "mean",
            "variants": [mean("control", 500, 1000.0, 2600.0), mean("B", 500, 1000.0, 2000.0)],
        },
    },
    {
        "name": "ratio two arms",
        "body": {
            "metric": "ratio",
            "variants": [
                ratio("control", 3000, (3016, 5942), (15147, 88627), 17658),
                ratio("B", 3050, (3391, 7005), (15443, 90757), 19893),
            ],
        },
    },
    {
        "name": "ratio three arms, proper prior, sequential testing, alpha 0.1",
        "body": {
            "metric": "ratio",
            "variants": [
                ratio("control", 1200, (598, 886), (5893, 33445), 3363),
                ratio("B", 1180, (640, 970), (5871, 33693), 3677),
                ratio("C", 1250, (698, 1118), (6234, 36006), 4079),
            ],
            "alpha": 0.1,
            "sequential_tuning": 3000,
            "prior": {"mean": 0.01, "stddev": 0.2, "proper": True},
        },
    },
    {
        "name": "ratio, control second, a variant without a denominator",
        "body": {
            "metric": "ratio",
            "variants": [
                ratio("B", 3050, (3391, 7005), (15443, 90757), 19893),
                ratio("control", 3000, (3016, 5942), (15147, 88627), 17658),
                ratio("C", 400, (0, 0), (0, 0), 0),
            ],
            "weights": [0.45, 0.45, 0.1],
            "control_index": 1,
        },
    },
    {
        "name": "ratio without a denominator in control",
        "body": {
            "metric": "ratio",
            "variants": [
                ratio("control", 500, (0, 0), (0, 0), 0),
                ratio("B", 500, (520, 940), (2480, 14300), 2900),
            ],
        },
    },
]


def base_statistic(metric, n, total, squares):
    if metric == "binomial":
        return ProportionStatistic(n=n, sum=total)
    return SampleMeanStatistic(n=n, sum=total, sum_squares=squares)


def statistic(metric, variant):
    if metric == "ratio":
        return RatioStatistic(
            n=variant["users"],
            m_statistic=SampleMeanStatistic(
                n=variant["users"],
                sum=variant["numerator_sum"],
                sum_squares=variant["numerator_sum_squares"],
            ),
            d_statistic=SampleMeanStatistic(
                n=variant["users"],
                sum=variant["denominator_sum"],
                sum_squares=variant["denominator_sum_squares"],
            ),
            m_d_sum_of_products=variant["numerator_denominator_sum_products"],
        )
    total = variant["conversions"] if metric == "binomial" else variant["sum"]
    post = base_statistic(metric, variant["users"], total, variant.get("sum_squares"))
    if "pre_sum" not in variant:
        return post
    pre_squares = variant.get("pre_sum_squares", variant["pre_sum"])
    pre = base_statistic(metric, variant["users"], variant["pre_sum"], pre_squares)
    return RegressionAdjustedStatistic(
        n=variant["users"],
        post_statistic=post,
        pre_statistic=pre,
        post_pre_sum_of_products=variant["cross_sum"],
        theta=0,
    )


def finite(value):
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    value = float(value)
    return value if math.isfinite(value) else None


def reference(body):
    metric = body["metric"]
    variants = body["variants"]
    control_index = body.get("control_index", 0)
    alpha = body.get("alpha", 0.05)
    prior = body.get("prior", {})
    weights = body.get("weights", [1 / len(variants)] * len(variants))
    control = variants[control_index]

    def pair(variant):
        return statistic(metric, control), statistic(metric, variant)

    out = {"srm_p": finite(check_srm([v["users"] for v in variants], weights)), "variants": {}}
    for index, variant in enumerate(variants):
        if index == control_index:
            continue
        relative = TwoSidedTTest(*pair(variant), FrequentistConfig(alpha=alpha)).compute_result()
        absolute = TwoSidedTTest(
            *pair(variant), FrequentistConfig(alpha=alpha, difference_type="absolute")
        ).compute_result()
        sequential = SequentialTwoSidedTTest(
            *pair(variant),
            SequentialConfig(
                alpha=alpha, sequential_tuning_parameter=body.get("sequential_tuning", 5000)
            ),
        ).compute_result()
        bayes = EffectBayesianABTest(
            *pair(variant),
            EffectBayesianConfig(
                alpha=alpha,
                prior_type="relative",
                prior_effect=GaussianPrior(
                    mean=prior.get("mean", 0),
                    variance=prior.get("stddev", 0.3) ** 2,
                    proper=prior.get("proper", False),
                ),
            ),
        ).compute_result()
        out["variants"][variant["name"]] = {
            "relative_uplift": finite(relative.expected),
            "p_value": finite(relative.p_value),
            "ci95": finite(relative.ci),
            "error_message": relative.error_message,
            "absolute_diff": finite(absolute.expected),
            "p_value_absolute": finite(absolute.p_value),
            "ci95_absolute": finite(absolute.ci),
            "seq_p_value": finite(sequential.p_value),
            "seq_ci95": finite(sequential.ci),
            "chance_to_win": finite(bayes.chance_to_win),
            "risk": finite(bayes.risk),
            "posterior_uplift": finite(bayes.expected),
            "credible_interval": finite(bayes.ci),
            "bayesian_error_message": bayes.error_message,
        }
    return out


def main():
    cases = [{**case, "gbstats": reference(case["body"])} for case in CASES]
    document = {
        "source": f"gbstats {version('gbstats')}, by tests/experiments/make_reference_cases.py",
        "cases": cases,
    }
    OUT.write_text(json.dumps(document, indent=2) + "\n")
    print(f"Wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()

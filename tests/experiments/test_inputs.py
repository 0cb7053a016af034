"""Bad analysis bodies: each is an AnalysisInputError naming the field at fault."""

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.stats import AnalysisInputError, analyse
from experiments.stats.inputs import RATIO_KEYS


def binomial_body(**changes):
    body = {
        "metric": "binomial",
        "variants": [
            {"name": "control", "users": 1000, "conversions": 100},
            {"name": "B", "users": 1000, "conversions": 120},
        ],
    }
    body.update(changes)
    return body


def mean_body(**changes):
    body = {
        "metric": "mean",
        "variants": [
            {"name": "control", "users": 1000, "sum": 250.0, "sum_squares": 900.0},
            {"name": "B", "users": 1000, "sum": 280.0, "sum_squares": 950.0},
        ],
    }
    body.update(changes)
    return body


def ratio_arm(name, users, numerator, denominator, products):
    return {
        "name": name,
        "users": users,
        "numerator_sum": numerator[0],
        "numerator_sum_squares": numerator[1],
        "denominator_sum": denominator[0],
        "denominator_sum_squares": denominator[1],
        "numerator_denominator_sum_products": products,
    }


def ratio_body(**changes):
    # Votes per page view: variances 0.64 and 4.0 (sd 0.8 and 2), covariance 0.6.
    body = {
        "metric": "ratio",
        "variants": [
            ratio_arm("control", 1000, (500.0, 890.0), (4000.0, 20000.0), 2600.0),
            ratio_arm("B", 1000, (550.0, 942.5), (4000.0, 20000.0), 2800.0),
        ],
    }
    body.update(changes)
    return body


def with_variant(body, index, **changes):
    body = copy.deepcopy(body)
    body["variants"][index].update(changes)
    for key, value in changes.items():
        if value is ...:
            del body["variants"][index][key]
    return body


def cuped_mean_body():
    body = mean_body()
    body["variants"][0].update(pre_sum=240.0, pre_sum_squares=880.0, cross_sum=700.0)
    body["variants"][1].update(pre_sum=245.0, pre_sum_squares=890.0, cross_sum=720.0)
    return body


def error_of(body):
    with pytest.raises(AnalysisInputError) as caught:
        analyse(body)
    assert isinstance(caught.value, ValueError)
    return caught.value


BAD = [
    ("not an object", [1, 2], "body"),
    ("no metric", {k: v for k, v in binomial_body().items() if k != "metric"}, "metric"),
    ("unknown metric", binomial_body(metric="quantile"), "metric"),
    ("variants not a list", binomial_body(variants={"a": 1}), "variants"),
    (
        "one variant",
        binomial_body(variants=[{"name": "a", "users": 1, "conversions": 0}]),
        "variants",
    ),
    (
        "variant not an object",
        binomial_body(variants=[{"name": "a", "users": 1, "conversions": 0}, 3]),
        "variants[1]",
    ),
    ("duplicate names", with_variant(binomial_body(), 1, name="control"), "variants[1].name"),
    ("missing name", with_variant(binomial_body(), 1, name=...), "variants[1].name"),
    ("empty name", with_variant(binomial_body(), 0, name=" "), "variants[0].name"),
    ("missing users", with_variant(binomial_body(), 1, users=...), "variants[1].users"),
    ("negative users", with_variant(binomial_body(), 1, users=-5), "variants[1].users"),
    ("non-numeric users", with_variant(binomial_body(), 0, users="1000"), "variants[0].users"),
    ("fractional users", with_variant(binomial_body(), 0, users=10.5), "variants[0].users"),
    ("boolean users", with_variant(binomial_body(), 1, users=True), "variants[1].users"),
    ("nan users", with_variant(binomial_body(), 1, users=float("nan")), "variants[1].users"),
    (
        "missing conversions",
        with_variant(binomial_body(), 1, conversions=...),
        "variants[1].conversions",
    ),
    (
        "conversions above users",
        with_variant(binomial_body(), 1, conversions=1001),
        "variants[1].conversions",
    ),
    (
        "negative conversions",
        with_variant(binomial_body(), 0, conversions=-1),
        "variants[0].conversions",
    ),
    (
        "boolean conversions",
        with_variant(binomial_body(), 1, conversions=False),
        "variants[1].conversions",
    ),
    ("missing sum", with_variant(mean_body(), 1, sum=...), "variants[1].sum"),
    ("non-numeric sum", with_variant(mean_body(), 1, sum="x"), "variants[1].sum"),
    (
        "missing sum_squares",
        with_variant(mean_body(), 0, sum_squares=...),
        "variants[0].sum_squares",
    ),
    (
        "negative sum_squares",
        with_variant(mean_body(), 0, sum_squares=-1.0),
        "variants[0].sum_squares",
    ),
    (
        "negative variance",
        with_variant(mean_body(), 1, sum_squares=78.0),
        "variants[1].sum_squares",
    ),
    *[
        (f"ratio missing {key}", with_variant(ratio_body(), 1, **{key: ...}), f"variants[1].{key}")
        for key in ratio_arm("", 0, (0, 0), (0, 0), 0)
        if key != "name"
    ],
    ("ratio negative users", with_variant(ratio_body(), 0, users=-1), "variants[0].users"),
    (
        "ratio non-numeric numerator",
        with_variant(ratio_body(), 0, numerator_sum="500"),
        "variants[0].numerator_sum",
    ),
    (
        "ratio negative numerator variance",
        with_variant(ratio_body(), 1, numerator_sum_squares=300.0),
        "variants[1].numerator_sum_squares",
    ),
    (
        "ratio negative denominator variance",
        with_variant(ratio_body(), 0, denominator_sum_squares=15000.0),
        "variants[0].denominator_sum_squares",
    ),
    (
        "ratio negative denominator sum of squares",
        with_variant(ratio_body(), 0, denominator_sum_squares=-1.0),
        "variants[0].denominator_sum_squares",
    ),
    (
        "ratio covariance above sd times sd",
        # Covariance 1.7 against 0.8 * 2 = 1.6.
        with_variant(ratio_body(), 1, numerator_denominator_sum_products=2200.0 + 1700.0),
        "variants[1].numerator_denominator_sum_products",
    ),
    (
        "ratio covariance below -sd times sd",
        with_variant(ratio_body(), 0, numerator_denominator_sum_products=2000.0 - 1700.0),
        "variants[0].numerator_denominator_sum_products",
    ),
    (
        "ratio with CUPED totals",
        with_variant(ratio_body(), 0, pre_sum=10.0),
        "variants[0].pre_sum",
    ),
    ("weights of the wrong length", binomial_body(weights=[0.2, 0.3, 0.5]), "weights"),
    ("weights not a list", binomial_body(weights=0.5), "weights"),
    ("negative weight", binomial_body(weights=[1.5, -0.5]), "weights[1]"),
    ("non-numeric weight", binomial_body(weights=["a", 0.5]), "weights[0]"),
    ("boolean weight", binomial_body(weights=[True, 0.0]), "weights[0]"),
    ("weights not adding to 1", binomial_body(weights=[0.5, 0.6]), "weights"),
    ("alpha of 0", binomial_body(alpha=0), "alpha"),
    ("alpha of 1", binomial_body(alpha=1), "alpha"),
    ("alpha above 1", binomial_body(alpha=5), "alpha"),
    ("boolean alpha", binomial_body(alpha=True), "alpha"),
    ("string alpha", binomial_body(alpha="0.05"), "alpha"),
    ("zero tuning", binomial_body(sequential_tuning=0), "sequential_tuning"),
    ("negative tuning", binomial_body(sequential_tuning=-100), "sequential_tuning"),
    ("prior not an object", binomial_body(prior=0.3), "prior"),
    ("zero prior stddev", binomial_body(prior={"stddev": 0}), "prior.stddev"),
    ("negative prior stddev", binomial_body(prior={"mean": 0, "stddev": -0.3}), "prior.stddev"),
    ("non-numeric prior mean", binomial_body(prior={"mean": "0"}), "prior.mean"),
    ("non-boolean proper", binomial_body(prior={"proper": 1}), "prior.proper"),
    (
        "users beyond any population",
        with_variant(binomial_body(), 0, users=1e300),
        "variants[0].users",
    ),  # fmt: skip
    ("control_index out of range", binomial_body(control_index=2), "control_index"),
    ("negative control_index", binomial_body(control_index=-1), "control_index"),
    ("boolean control_index", binomial_body(control_index=True), "control_index"),
    (
        "CUPED on some arms only",
        with_variant(cuped_mean_body(), 1, cross_sum=...),
        "variants[1].cross_sum",
    ),
    (
        "CUPED negative pre variance",
        with_variant(cuped_mean_body(), 0, pre_sum_squares=10.0),
        "variants[0].pre_sum_squares",
    ),
    (
        "CUPED correlation above 1",
        with_variant(cuped_mean_body(), 1, cross_sum=5000.0),
        "variants[1].cross_sum",
    ),
    (
        "CUPED binomial cross above conversions",
        with_variant(binomial_body(), 0, pre_sum=90, cross_sum=101),
        "variants[0].cross_sum",
    ),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_names_the_field(body, field):
    error = error_of(body)
    assert field in error.errors
    assert error.errors[field]
    assert (error.field, error.message) == next(iter(error.errors.items()))


def test_every_error_is_reported_at_once():
    body = with_variant(binomial_body(alpha=2, weights=[1.0]), 1, conversions=5000)
    error = error_of(body)
    assert {"variants[1].conversions", "alpha", "weights"} <= set(error.errors)
    assert str(error)


def test_a_tiny_negative_variance_from_rounding_is_accepted():
    # Every user worth exactly 0.3: the exact variance is 0, its float rebuild below 0.
    users, value = 1000, 0.3
    total = sum([value] * users)
    squares = sum([value * value] * users)
    assert squares - total**2 / users < 0
    body = mean_body()
    body["variants"][1].update(sum=total, sum_squares=squares)
    result = analyse(body)
    assert result["not_enough_data"] == [{"variant": "B", "reason": "No variance in this variant."}]


def test_ratio_body_gives_every_figure():
    result = analyse(ratio_body())
    assert result["not_enough_data"] == []
    assert result["control_mean"] == pytest.approx(0.125)
    row = result["variants"]["B"]
    assert row["mean"] == pytest.approx(0.1375)
    assert row["relative_uplift"] == pytest.approx(0.1)
    assert all(value is not None for value in row.values())


def test_ratio_covariance_at_exactly_sd_times_sd_is_accepted():
    # Every user's numerator a fixed multiple of their denominator: correlation exactly 1.
    body = ratio_body()
    for i, arm in enumerate(body["variants"]):
        d, dd = arm["denominator_sum"], arm["denominator_sum_squares"]
        k = 0.1 + 0.03 * i
        arm.update(
            numerator_sum=k * d,
            numerator_sum_squares=k * k * dd,
            numerator_denominator_sum_products=k * dd,
        )
    analyse(body)
    body["variants"][1]["numerator_denominator_sum_products"] *= 1.0001
    assert "variants[1].numerator_denominator_sum_products" in error_of(body).errors


def test_defaults_are_growthbooks():
    plain = analyse(binomial_body())
    explicit = analyse(
        binomial_body(
            weights=[0.5, 0.5],
            alpha=0.05,
            sequential_tuning=5000,
            prior={"mean": 0, "stddev": 0.3, "proper": False},
            control_index=0,
        )
    )
    assert plain == explicit


def test_integral_floats_are_counts():
    body = with_variant(binomial_body(), 1, users=1000.0, conversions=120.0)
    assert analyse(body)["variants"]["B"]["users"] == 1000


NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 49, 50, 10**400, True, None, "7"]),
)
VARIANT = st.fixed_dictionaries(
    {"name": st.sampled_from(["control", "B", "C", ""]), "users": NUMBERS},
    optional={
        "conversions": NUMBERS,
        "sum": NUMBERS,
        "sum_squares": NUMBERS,
        "pre_sum": NUMBERS,
        "pre_sum_squares": NUMBERS,
        "cross_sum": NUMBERS,
        **{key: NUMBERS for key in RATIO_KEYS},
    },
)
BODY = st.fixed_dictionaries(
    {
        "metric": st.sampled_from(["binomial", "mean", "ratio"]),
        "variants": st.lists(VARIANT, max_size=4),
    },
    optional={
        "weights": st.lists(NUMBERS, max_size=4),
        "alpha": NUMBERS,
        "sequential_tuning": NUMBERS,
        "control_index": NUMBERS,
        "prior": st.fixed_dictionaries({}, optional={"mean": NUMBERS, "stddev": NUMBERS}),
    },
)


@settings(max_examples=150, deadline=None, database=None)
@given(BODY)
def test_any_body_gives_json_or_an_input_error(body):
    try:
        result = analyse(body)
    except AnalysisInputError as error:
        assert error.errors and error.field in error.errors
        return
    json.dumps(result, allow_nan=False)
    assert len(result["variants"]) == len(body["variants"]) - 1


@st.composite
def valid_bodies(draw):
    metric = draw(st.sampled_from(["binomial", "mean", "ratio"]))
    variants = []
    for i in range(draw(st.integers(min_value=2, max_value=4))):
        users = draw(st.sampled_from([0, 1, 2, 49, 50, 51, 1000, 10**9]))
        variant = {"name": f"v{i}", "users": users}
        if metric == "binomial":
            variant["conversions"] = min(users, draw(st.sampled_from([0, 1, users // 2, users])))
        elif metric == "ratio":
            for part in ("numerator", "denominator"):
                value = draw(st.sampled_from([0.0, 1e-9, 2.5, -3.0, 1e100]))
                spread = draw(st.sampled_from([0.0, 1e-6, 4.0, 1e200]))
                variant[f"{part}_sum"] = value * users
                variant[f"{part}_sum_squares"] = value * value * users + spread * users
            # Uncorrelated: the sum of products is the product of the means, times users.
            variant["numerator_denominator_sum_products"] = (
                variant["numerator_sum"] * variant["denominator_sum"] / users if users else 0.0
            )
        else:
            value = draw(st.sampled_from([0.0, 1e-9, 2.5, -3.0, 1e100]))
            spread = draw(st.sampled_from([0.0, 1e-6, 4.0, 1e200]))
            variant.update(sum=value * users, sum_squares=value * value * users + spread * users)
        variants.append(variant)
    return {
        "metric": metric,
        "variants": variants,
        "alpha": draw(st.sampled_from([1e-12, 0.05, 0.5, 0.999999])),
        "prior": {"mean": 0.1, "stddev": draw(st.sampled_from([1e-9, 0.3, 1e9])), "proper": True},
    }


@settings(max_examples=150, deadline=None, database=None)
@given(valid_bodies())
def test_edge_totals_give_json_never_a_crash(body):
    result = analyse(body)
    json.dumps(result, allow_nan=False)
    lacking = {item["variant"] for item in result["not_enough_data"]}
    for name, row in result["variants"].items():
        assert (row["p_value"] is None) == (name in lacking)

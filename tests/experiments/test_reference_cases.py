"""`analyse` against the figures of GrowthBook's gbstats 0.8.0 itself.

reference_cases.json is written by make_reference_cases.py, which runs the real gbstats.
Two differences are intended, and checked as such here: an arm with fewer than MIN_USERS
users, and an arm compared with a control that has no conversions, no variance or (for a
ratio) no denominator, or an arm with no variance or no denominator itself, gets no
figures from us (it is listed under "not_enough_data"), where gbstats returns numbers or
its placeholder result (p = 1, interval [0, 0], chance to win 0.5, risk [0, 0]).
"""

import json
import math
from pathlib import Path

import pytest

from experiments.stats import MIN_USERS, analyse

CASES = json.loads(Path(__file__).with_name("reference_cases.json").read_text())["cases"]
FIGURES = [
    "relative_uplift",
    "p_value",
    "ci95",
    "absolute_diff",
    "p_value_absolute",
    "ci95_absolute",
    "seq_p_value",
    "seq_ci95",
    "chance_to_win",
    "risk",
    "posterior_uplift",
    "credible_interval",
]


def assert_close(ours, theirs, what):
    if isinstance(theirs, list):
        assert len(ours) == len(theirs), what
        for a, b in zip(ours, theirs, strict=True):
            assert_close(a, b, what)
        return
    # gbstats takes 1 - cdf for a p-value, which is exact only to about 1e-16 absolutely;
    # we use the survival function, so tiny p-values agree to that absolute error.
    assert math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-15), (what, ours, theirs)


def by_name(case):
    return {v["name"]: v for v in case["body"]["variants"]}


def test_the_table_covers_what_it_should():
    assert len(CASES) >= 8
    bodies = [case["body"] for case in CASES]
    assert any(len(b["variants"]) == 3 for b in bodies)
    assert any(b["metric"] == "mean" for b in bodies)
    assert any(b.get("prior", {}).get("proper") for b in bodies)
    assert any("pre_sum" in b["variants"][0] for b in bodies)
    assert any(v["users"] < MIN_USERS for b in bodies for v in b["variants"])
    ratios = [b for b in bodies if b["metric"] == "ratio"]
    assert any(len(b["variants"]) == 2 for b in ratios)
    assert any(
        len(b["variants"]) == 3 and b.get("prior", {}).get("proper") and "sequential_tuning" in b
        for b in ratios
    )
    assert any(b.get("control_index") for b in ratios)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_analyse_agrees_with_gbstats(case):
    result = analyse(case["body"])
    assert_close(result["srm_p"], case["gbstats"]["srm_p"], "srm_p")
    assert result["srm_warning"] is (case["gbstats"]["srm_p"] < 0.001)
    lacking = {item["variant"]: item["reason"] for item in result["not_enough_data"]}
    variants = by_name(case)
    control = variants[result["control"]]
    for name, theirs in case["gbstats"]["variants"].items():
        ours = result["variants"][name]
        too_small = min(variants[name]["users"], control["users"]) < MIN_USERS
        if theirs["error_message"] or too_small:
            assert name in lacking
            assert all(ours[key] is None for key in FIGURES + ["p_value_holm", "p_value_bh"])
            continue
        assert name not in lacking
        for key in FIGURES:
            assert_close(ours[key], theirs[key], f"{name}.{key}")


def test_the_intended_differences_are_those_cases():
    """Where we give no figures, gbstats gives a placeholder or figures from a tiny arm."""
    reasons = {}
    for case in CASES:
        for item in analyse(case["body"])["not_enough_data"]:
            theirs = case["gbstats"]["variants"][item["variant"]]
            reasons[(case["name"], item["variant"])] = (item["reason"], theirs)
    zero = reasons[("no conversions in control", "B")]
    assert zero[0] == "No conversions in control."
    assert zero[1]["error_message"] == "ZERO_NEGATIVE_BASELINE_VARIATION"
    assert zero[1]["p_value"] == 1 and zero[1]["chance_to_win"] == 0.5
    flat = reasons[("no variance in a variant", "B")]
    assert flat[0] == "No variance in this variant."
    assert flat[1]["error_message"] == "ZERO_NEGATIVE_VARIANCE"
    small = reasons[("small samples: one arm below 50 users", "C")]
    assert small[0] == f"Fewer than {MIN_USERS} users in this variant."
    assert small[1]["error_message"] is None and small[1]["p_value"] < 1
    no_denominator = reasons[("ratio without a denominator in control", "B")]
    assert no_denominator[0] == "The control's denominator is zero."
    assert no_denominator[1]["error_message"] == "ZERO_NEGATIVE_BASELINE_VARIATION"
    empty = reasons[("ratio, control second, a variant without a denominator", "C")]
    assert empty[0] == "This variant's denominator is zero."
    assert empty[1]["error_message"] == "ZERO_NEGATIVE_VARIANCE"
    assert len(reasons) == 5


def test_ratio_figures_are_those_of_the_ratio_of_sums():
    case = next(c for c in CASES if c["name"] == "ratio two arms")
    result = analyse(case["body"])
    control, b = case["body"]["variants"]
    control_ratio = control["numerator_sum"] / control["denominator_sum"]
    b_ratio = b["numerator_sum"] / b["denominator_sum"]
    assert result["control_mean"] == pytest.approx(control_ratio, rel=1e-12)
    assert result["variants"]["B"]["mean"] == pytest.approx(b_ratio, rel=1e-12)
    row = result["variants"]["B"]
    assert row["relative_uplift"] == pytest.approx(b_ratio / control_ratio - 1, rel=1e-12)
    assert row["absolute_diff"] == pytest.approx(b_ratio - control_ratio, rel=1e-12)
    # One treatment arm: the corrections leave its p-value as it is.
    assert row["p_value_holm"] == row["p_value_bh"] == row["p_value"]


def test_the_sample_ratio_mismatch_is_flagged():
    case = next(c for c in CASES if c["name"] == "three arms with a sample ratio mismatch")
    result = analyse(case["body"])
    assert result["srm_warning"] is True
    assert result["srm_p"] < 0.001


def test_the_loser_is_significant_with_a_tiny_p_value():
    case = next(c for c in CASES if c["name"] == "a significant loser")
    loser = analyse(case["body"])["variants"]["B"]
    assert loser["relative_uplift"] < 0 and loser["ci95"][1] < 0
    assert loser["p_value"] < 1e-6 and loser["p_value_holm"] < 1e-6
    assert loser["chance_to_win"] < 1e-6
    assert loser["risk"][1] > 0.1 > loser["risk"][0]

"""The analysis of one metric of an experiment, from the arms' totals to every figure shown."""

from __future__ import annotations

import math
from typing import Any

from .bayesian import bayesian_test
from .corrections import benjamini_hochberg, holm
from .frequentist import absolute_effect, relative_effect, two_sided_t_test
from .inputs import AnalysisRequest, VariantInput, parse_body
from .sequential import sequential_test
from .srm import SRM_THRESHOLD, srm_p_value
from .statistics import (
    AdjustedStats,
    ArmStats,
    MeanStats,
    ProportionStats,
    RatioStats,
    cuped_pair,
    ratio_stats,
)

__all__ = ["MIN_USERS", "analyse"]

# Below this many users in an arm the normal approximations behind every figure are not
# trusted. This rule is the project's own: gbstats computes figures from any count.
MIN_USERS = 50

FIGURES = (
    "relative_uplift",
    "absolute_diff",
    "p_value",
    "ci95",
    "p_value_absolute",
    "ci95_absolute",
    "chance_to_win",
    "risk",
    "posterior_uplift",
    "credible_interval",
    "seq_p_value",
    "seq_ci95",
    "p_value_holm",
    "p_value_bh",
)


def _number(value: float) -> float | None:
    # JSON has no NaN or infinity.
    value = float(value)
    return value if math.isfinite(value) else None


def _pair(values: tuple[float, float]) -> list[float | None]:
    return [_number(values[0]), _number(values[1])]


def _base_stats(metric: str, n: int, total: float, squares: float) -> ProportionStats | MeanStats:
    if metric == "binomial":
        return ProportionStats(n=n, sum=total)
    return MeanStats(n=n, sum=total, sum_squares=squares)


def _arm_stats(request: AnalysisRequest, variant: VariantInput) -> ArmStats:
    if request.metric == "ratio":
        return ratio_stats(
            users=variant.users,
            numerator_sum=variant.numerator_sum,
            numerator_sum_squares=variant.numerator_sum_squares,
            denominator_sum=variant.denominator_sum,
            denominator_sum_squares=variant.denominator_sum_squares,
            numerator_denominator_sum_products=variant.numerator_denominator_sum_products,
        )
    binomial = request.metric == "binomial"
    total = variant.conversions if binomial else variant.sum
    post = _base_stats(request.metric, variant.users, total, variant.sum_squares)
    if not request.cuped:
        return post
    pre = _base_stats(request.metric, variant.users, variant.pre_sum, variant.pre_sum_squares)
    return AdjustedStats(post=post, pre=pre, cross_sum=variant.cross_sum)


def _lacking(request: AnalysisRequest, control: ArmStats, variant: ArmStats) -> str | None:
    """Return why `variant` cannot be compared with `control`, or None if it can."""
    if variant.n < MIN_USERS:
        return f"Fewer than {MIN_USERS} users in this variant."
    if control.n < MIN_USERS:
        return f"Fewer than {MIN_USERS} users in control."
    if isinstance(control, RatioStats) and control.denominator.mean == 0:
        return "The control's denominator is zero."
    if isinstance(variant, RatioStats) and variant.denominator.mean == 0:
        return "This variant's denominator is zero."
    if control.unadjusted_mean == 0 or control.mean == 0:
        # The relative lift divides by the control's mean.
        if request.metric == "binomial":
            return "No conversions in control."
        if request.metric == "ratio":
            return "The control's ratio is zero."
        return "The control's mean is zero."
    if control.variance <= 0:
        return "No variance in control."
    if variant.variance <= 0:
        return "No variance in this variant."
    return None


def _compare(request: AnalysisRequest, control: ArmStats, variant: ArmStats) -> dict | None:
    """Return the figures of `variant` against `control`, or None if any is not finite."""
    relative = relative_effect(control, variant)
    absolute = absolute_effect(control, variant)
    if not (relative.variance > 0 and absolute.variance > 0):
        return None
    fixed = two_sided_t_test(relative, request.alpha)
    fixed_absolute = two_sided_t_test(absolute, request.alpha)
    sequential = sequential_test(
        relative, control.n + variant.n, request.alpha, request.sequential_tuning
    )
    bayes = bayesian_test(relative, request.prior, request.alpha)
    figures = {
        "relative_uplift": _number(relative.estimate),
        "absolute_diff": _number(absolute.estimate),
        "p_value": _number(fixed.p_value),
        "ci95": _pair(fixed.ci),
        "p_value_absolute": _number(fixed_absolute.p_value),
        "ci95_absolute": _pair(fixed_absolute.ci),
        "chance_to_win": _number(bayes.chance_to_win),
        "risk": _pair(bayes.risk),
        "posterior_uplift": _number(bayes.mean),
        "credible_interval": _pair(bayes.ci),
        "seq_p_value": _number(sequential.p_value),
        "seq_ci95": _pair(sequential.ci),
    }
    if figures["p_value"] is None or figures["relative_uplift"] is None:
        return None
    return figures


def analyse(body: dict) -> dict:
    """Return the analysis of the experiment described by `body`, ready to serialise as JSON.

    The body::

        {"metric": "binomial" | "mean" | "ratio",
         "variants": [{"name": "control", "users": 1000, "conversions": 100}, ...],
         "weights": [0.5, 0.5], "alpha": 0.05, "sequential_tuning": 5000,
         "prior": {"mean": 0, "stddev": 0.3, "proper": false}, "control_index": 0}

    A binomial arm gives `conversions`; a mean arm gives `sum` and `sum_squares` of the
    per-user values; a ratio arm (e.g. votes per page view) gives, over its users, the
    `numerator_sum` and `numerator_sum_squares` of the per-user numerator values, the same
    for the denominator (`denominator_sum`, `denominator_sum_squares`) and
    `numerator_denominator_sum_products`, the sum of each user's numerator times
    denominator. A ratio's value, reported as its mean, is numerator_sum / denominator_sum.
    For CUPED every arm also gives the pre-exposure period: a mean arm
    `pre_sum`, `pre_sum_squares` (of the per-user pre-period values) and `cross_sum` (the
    sum over users of post value times pre value); a binomial arm `pre_sum` (users who
    converted before exposure) and `cross_sum` (users who converted in both periods); a
    ratio arm has no CUPED, as in gbstats 0.8.0.
    Everything but `metric` and `variants` is optional, with GrowthBook's defaults: equal
    weights, alpha 0.05, tuning 5000, a flat prior (mean 0, stddev 0.3, not proper), the
    first arm as control.

    The result has `srm_p` and `srm_warning` (p below 0.001), the `control`'s name, users
    and `control_rate` or `control_mean`, `not_enough_data` (one {"variant", "reason"} per
    arm left without figures) and `variants`, keyed by name, for every treatment arm:
    users, rate or mean, and the figures - relative lift with its Welch p-value and
    interval, absolute difference with its own, the Bayesian chance to win, risk
    [choosing control, choosing the variant] (relative), posterior lift and credible
    interval, the sequential p-value and interval, and the fixed-horizon p-value adjusted
    over the treatment arms by Holm and by Benjamini-Hochberg. Every interval is at
    1 - alpha, whatever its key. An arm without figures has them as null. With CUPED,
    lifts and differences are of the adjusted means, over the control's unadjusted mean.

    Raise AnalysisInputError, a ValueError, if the body is invalid.
    """
    request = parse_body(body)
    key = "rate" if request.metric == "binomial" else "mean"
    arms = [_arm_stats(request, variant) for variant in request.variants]
    control_input = request.variants[request.control_index]
    control = arms[request.control_index]

    try:
        srm_p = _number(srm_p_value([v.users for v in request.variants], request.weights))
    except ArithmeticError:
        srm_p = None
    try:
        control_mean = _number(control.unadjusted_mean)
    except ArithmeticError:
        control_mean = None
    result: dict[str, Any] = {
        "srm_p": srm_p,
        "srm_warning": srm_p is not None and srm_p < SRM_THRESHOLD,
        "control": control_input.name,
        "control_users": control_input.users,
        f"control_{key}": control_mean,
        "not_enough_data": [],
        "variants": {},
    }
    compared: list[str] = []
    for index, variant_input in enumerate(request.variants):
        if index == request.control_index:
            continue
        variant = arms[index]
        row: dict[str, Any] = {"users": variant_input.users, key: _number(variant.unadjusted_mean)}
        row.update(dict.fromkeys(FIGURES))
        try:
            a, b = cuped_pair(control, variant) if request.cuped else (control, variant)
            reason = _lacking(request, a, b)
            figures = None if reason else _compare(request, a, b)
        except ArithmeticError:
            # Totals near the limits of a float overflow; they get no figures, not a crash.
            reason, figures = None, None
        if figures is None:
            reason = reason or "The figures are not finite numbers."
            result["not_enough_data"].append({"variant": variant_input.name, "reason": reason})
        else:
            row.update(figures)
            compared.append(variant_input.name)
        result["variants"][variant_input.name] = row

    p_values = [result["variants"][name]["p_value"] for name in compared]
    for name, p_holm, p_bh in zip(
        compared, holm(p_values), benjamini_hochberg(p_values), strict=True
    ):
        result["variants"][name]["p_value_holm"] = _number(p_holm)
        result["variants"][name]["p_value_bh"] = _number(p_bh)
    return result

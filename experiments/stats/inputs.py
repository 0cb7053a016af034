"""Validation of the JSON body given to `analyse`.

Every problem found is reported at once, keyed by the path of the field at fault, e.g.
"variants[1].conversions", so that a form or an API client can show each next to its field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from .bayesian import Prior
from .sequential import DEFAULT_TUNING

__all__ = ["AnalysisInputError", "AnalysisRequest", "VariantInput", "parse_body"]

METRICS = ("binomial", "mean", "ratio")
# Sums of squares are rebuilt from floats; a variance this far below 0, relative to the
# sums involved, is rounding rather than inconsistent data.
VARIANCE_TOLERANCE = 1e-9
WEIGHTS_TOLERANCE = 1e-6
CUPED_MEAN_KEYS = ("pre_sum", "pre_sum_squares", "cross_sum")
RATIO_KEYS = (
    "numerator_sum",
    "numerator_sum_squares",
    "denominator_sum",
    "denominator_sum_squares",
    "numerator_denominator_sum_products",
)


class AnalysisInputError(ValueError):
    """The body of an analysis is invalid.

    `errors` maps each faulty field's path to a message; `field` and `message` are the
    first of them.
    """

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        self.field, self.message = next(iter(self.errors.items()))
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in self.errors.items()))


@dataclass(frozen=True)
class VariantInput:
    """One arm's totals.

    Binomial arms carry `conversions`, mean arms `sum`/`sum_squares`, ratio arms the
    `numerator_*`, `denominator_*` sums and `numerator_denominator_sum_products`.
    """

    name: str
    users: int
    conversions: float | None = None
    sum: float | None = None
    sum_squares: float | None = None
    pre_sum: float | None = None
    pre_sum_squares: float | None = None
    cross_sum: float | None = None
    numerator_sum: float | None = None
    numerator_sum_squares: float | None = None
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    numerator_denominator_sum_products: float | None = None


@dataclass(frozen=True)
class AnalysisRequest:
    """A validated analysis body, with GrowthBook's defaults filled in."""

    metric: str
    variants: tuple[VariantInput, ...]
    weights: tuple[float, ...]
    alpha: float
    sequential_tuning: float
    prior: Prior
    control_index: int
    cuped: bool


def _finite(value: Any) -> float | None:
    """Return `value` as a finite float, or None if it is no finite real number."""
    # bool is an int in Python; true/false in JSON is no count of anything.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return value if math.isfinite(value) else None


class _Checker:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def number(self, obj: dict, key: str, path: str, *, required: bool = True) -> float | None:
        """Return obj[key] as a finite float, or None after recording why it is not one."""
        if key not in obj or obj[key] is None:
            if required:
                self.add(path, "This field is required.")
            return None
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, "Must be a number.")
            return None
        value = _finite(value)
        if value is None:
            self.add(path, "Must be a finite number.")
        return value

    def count(self, obj: dict, key: str, path: str) -> int | None:
        """Return obj[key] as a non-negative whole number, or None after recording why not."""
        value = self.number(obj, key, path)
        if value is None:
            return None
        if value < 0:
            self.add(path, "Must not be negative.")
            return None
        if value != int(value):
            self.add(path, "Must be a whole number.")
            return None
        if value > MAX_COUNT:
            self.add(path, f"Must be at most {MAX_COUNT:,}.")
            return None
        return int(value)


MAX_COUNT = 10**15  # users or conversions of one arm: still exact as a float (below 2**53)


def _variance_ok(n: int, total: float, squares: float) -> bool:
    # n * sum_squares >= sum² for any real data (Cauchy-Schwarz).
    # Products, not powers: a float power overflows with an exception, a product to inf.
    square = total * total
    return n * squares - square >= -VARIANCE_TOLERANCE * max(1.0, n * abs(squares), square)


def _correlation_ok(
    n: int, a_sum: float, a_squares: float, b_sum: float, b_squares: float, cross: float
) -> bool:
    """Return whether the sum of products `cross` of two values a and b over `n` users fits
    their sums and sums of squares: covariance² <= variance of a * variance of b.

    The same bound, times n - 1 on both sides, is checked; beyond it by more than rounding
    the correlation would exceed 1. Every variance must already be known not negative.
    """
    covariance = cross - a_sum * b_sum / n
    bound = (a_squares - a_sum * a_sum / n) * (b_squares - b_sum * b_sum / n)
    slack = 1e-12 * max(1.0, cross * cross)
    # Sums too large for a float make NaN here; they are let through, to get no figures.
    return not covariance * covariance > max(bound, 0.0) * (1 + 1e-9) + slack


def _check_variant(check: _Checker, raw: Any, i: int, metric: str | None) -> VariantInput | None:
    path = f"variants[{i}]"
    if not isinstance(raw, dict):
        check.add(path, "Must be an object.")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        check.add(f"{path}.name", "Must be a non-empty string.")
    users = check.count(raw, "users", f"{path}.users")
    fields: dict[str, float | None] = {}
    if metric == "binomial":
        conversions = check.count(raw, "conversions", f"{path}.conversions")
        if conversions is not None and users is not None and conversions > users:
            check.add(f"{path}.conversions", "Must not exceed users.")
        fields["conversions"] = conversions
    elif metric == "mean":
        total = check.number(raw, "sum", f"{path}.sum")
        squares = check.number(raw, "sum_squares", f"{path}.sum_squares")
        if squares is not None and squares < 0:
            check.add(f"{path}.sum_squares", "Must not be negative.")
        elif None not in (users, total, squares) and not _variance_ok(users, total, squares):
            check.add(
                f"{path}.sum_squares",
                "Is less than sum² / users: the variance would be negative.",
            )
        fields.update(sum=total, sum_squares=squares)
    elif metric == "ratio":
        fields.update(_check_ratio(check, raw, path, users))
    if not isinstance(name, str) or users is None:
        return None
    return VariantInput(name=name, users=users, **fields)


def _check_ratio(check: _Checker, raw: dict, path: str, users: int | None) -> dict:
    """Return a ratio arm's totals: sums and sums of squares of the per-user numerator and
    denominator, and the sum over users of their products."""
    values = {k: check.number(raw, k, f"{path}.{k}") for k in RATIO_KEYS}
    spreads_ok = True
    for part in ("numerator", "denominator"):
        total, squares = values[f"{part}_sum"], values[f"{part}_sum_squares"]
        field = f"{path}.{part}_sum_squares"
        if squares is not None and squares < 0:
            check.add(field, "Must not be negative.")
            spreads_ok = False
        elif None not in (users, total, squares) and not _variance_ok(users, total, squares):
            check.add(
                field, f"Is less than {part}_sum² / users: the {part}'s variance would be negative."
            )
            spreads_ok = False
    if spreads_ok and users and None not in values.values():
        if not _correlation_ok(
            users,
            values["numerator_sum"],
            values["numerator_sum_squares"],
            values["denominator_sum"],
            values["denominator_sum_squares"],
            values["numerator_denominator_sum_products"],
        ):
            check.add(
                f"{path}.numerator_denominator_sum_products",
                "Is inconsistent with the sums: the correlation of numerator and denominator "
                "would exceed 1.",
            )
    return values


def _check_cuped(check: _Checker, raws: list, variants: list[VariantInput], metric: str) -> bool:
    """Return whether the variants carry pre-period (CUPED) totals, adding them to `variants`.

    A binomial pre-period is 0/1 too, so its sum of squares is its sum and is not asked for.
    A ratio has no CUPED in gbstats 0.8.0, so pre-period totals on a ratio arm are an error.
    """
    if metric == "ratio":
        for i, raw in enumerate(raws):
            for k in CUPED_MEAN_KEYS:
                if raw.get(k) is not None:
                    check.add(f"variants[{i}].{k}", "A ratio metric has no CUPED adjustment.")
        return False
    keys = ("pre_sum", "cross_sum") if metric == "binomial" else CUPED_MEAN_KEYS
    if not any(raw.get(k) is not None for raw in raws for k in keys):
        return False
    for i, (raw, variant) in enumerate(zip(raws, variants, strict=True)):
        path = f"variants[{i}]"
        for k in keys:
            if raw.get(k) is None:
                check.add(f"{path}.{k}", "Required on every variant once one has pre-period data.")
        values = {k: check.number(raw, k, f"{path}.{k}") for k in keys}
        if None in values.values():
            continue
        n = variant.users
        if metric == "binomial":
            pre, cross = values["pre_sum"], values["cross_sum"]
            if pre < 0 or pre > n or pre != int(pre):
                check.add(f"{path}.pre_sum", "Must be a whole number between 0 and users.")
            lowest = max(0.0, variant.conversions + pre - n)
            if not lowest <= cross <= min(variant.conversions, pre):
                check.add(
                    f"{path}.cross_sum",
                    "Must be the users converting in both periods: at most conversions and "
                    "pre_sum, at least their excess over users.",
                )
            values["pre_sum_squares"] = pre
        else:
            pre, pre_sq, cross = values["pre_sum"], values["pre_sum_squares"], values["cross_sum"]
            if pre_sq < 0 or not _variance_ok(n, pre, pre_sq):
                check.add(
                    f"{path}.pre_sum_squares",
                    "Is less than pre_sum² / users: the variance would be negative.",
                )
            elif n > 0 and not _correlation_ok(
                n, variant.sum, variant.sum_squares, pre, pre_sq, cross
            ):
                check.add(
                    f"{path}.cross_sum",
                    "Is inconsistent with the sums: the correlation would exceed 1.",
                )
        variants[i] = replace(variant, **values)
    return True


def _check_weights(check: _Checker, body: dict, count: int | None) -> tuple[float, ...]:
    raw = body.get("weights")
    if raw is None:
        return tuple([1.0 / count] * count) if count else ()
    if not isinstance(raw, list):
        check.add("weights", "Must be a list of numbers.")
        return ()
    weights = []
    for i, item in enumerate(raw):
        value = _finite(item)
        if value is None:
            check.add(f"weights[{i}]", "Must be a finite number.")
        elif value < 0:
            check.add(f"weights[{i}]", "Must not be negative.")
            value = None
        weights.append(value)
    if count is not None and len(raw) != count:
        check.add("weights", f"Must have one weight per variant ({count}).")
    elif None not in weights and abs(sum(weights) - 1.0) > WEIGHTS_TOLERANCE:
        check.add("weights", "Must add up to 1.")
    return tuple(weights)


def parse_body(body: Any) -> AnalysisRequest:
    """Return the validated request in `body`, or raise AnalysisInputError."""
    if not isinstance(body, dict):
        raise AnalysisInputError({"body": "Must be a JSON object."})
    check = _Checker()

    metric = body.get("metric")
    if metric not in METRICS:
        check.add("metric", f"Must be one of {', '.join(METRICS)}.")
        metric = None

    raws = body.get("variants")
    variants: list[VariantInput] = []
    count = None
    if not isinstance(raws, list) or len(raws) < 2:
        check.add("variants", "Must be a list of at least two variants.")
    else:
        count = len(raws)
        parsed = [_check_variant(check, raw, i, metric) for i, raw in enumerate(raws)]
        seen: set[str] = set()
        for i, variant in enumerate(parsed):
            if variant is not None and variant.name in seen:
                check.add(f"variants[{i}].name", f"Duplicate name {variant.name!r}.")
            elif variant is not None:
                seen.add(variant.name)
        if all(v is not None for v in parsed) and not check.errors:
            variants = parsed
    cuped = bool(variants) and _check_cuped(check, raws, variants, metric)

    weights = _check_weights(check, body, count)

    alpha = check.number(body, "alpha", "alpha", required=False)
    if alpha is None and "alpha" not in check.errors:
        alpha = 0.05
    elif alpha is not None and not 0 < alpha < 1:
        check.add("alpha", "Must be between 0 and 1, exclusive.")

    tuning = check.number(body, "sequential_tuning", "sequential_tuning", required=False)
    if tuning is None and "sequential_tuning" not in check.errors:
        tuning = DEFAULT_TUNING
    elif tuning is not None and tuning <= 0:
        check.add("sequential_tuning", "Must be positive.")

    prior = _check_prior(check, body.get("prior"))

    control_index = 0
    if body.get("control_index") is not None:
        raw_index = body["control_index"]
        if isinstance(raw_index, bool) or not isinstance(raw_index, int):
            check.add("control_index", "Must be a whole number.")
        elif count is not None and not 0 <= raw_index < count:
            check.add("control_index", f"Must be between 0 and {count - 1}.")
        else:
            control_index = raw_index

    if check.errors:
        raise AnalysisInputError(check.errors)
    return AnalysisRequest(
        metric=metric,
        variants=tuple(variants),
        weights=weights,
        alpha=alpha,
        sequential_tuning=tuning,
        prior=prior,
        control_index=control_index,
        cuped=cuped,
    )


def _check_prior(check: _Checker, raw: Any) -> Prior:
    if raw is None:
        return Prior()
    if not isinstance(raw, dict):
        check.add("prior", "Must be an object.")
        return Prior()
    default = Prior()
    mean = check.number(raw, "mean", "prior.mean", required=False)
    stddev = check.number(raw, "stddev", "prior.stddev", required=False)
    if stddev is not None and stddev <= 0:
        check.add("prior.stddev", "Must be positive.")
    proper = raw.get("proper", default.proper)
    if not isinstance(proper, bool):
        check.add("prior.proper", "Must be true or false.")
        proper = default.proper
    return Prior(
        mean=default.mean if mean is None else mean,
        stddev=default.stddev if stddev is None or stddev <= 0 else stddev,
        proper=proper,
    )

"""From a metric's totals per variant to what a stored result holds: the engine's analysis
(with CUPED when there is a pre-exposure period), a breakdown by segment and the daily
series of the charts. Pure: imports nothing from Django."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import stats

BINOMIAL, MEAN, RATIO = "binomial", "mean", "ratio"
# Segments with the most users are analysed; a long tail of countries is not worth a row.
MAX_SEGMENTS = 10


@dataclass(frozen=True)
class ArmTotals:
    """One variant's (or one variant in one segment's) sufficient statistics of a metric:
    users exposed, users with a value above 0, sums of the values (a ratio's numerators), of
    their squares, and the same of the pre-exposure values, with the cross sum for CUPED;
    for a ratio, the sums of the denominators, of their squares and of numerator times
    denominator."""

    variant: int
    group: Any = None
    users: int = 0
    converted: int = 0
    total: float = 0.0
    squares: float = 0.0
    pre_converted: int = 0
    pre_total: float = 0.0
    pre_squares: float = 0.0
    cross: float = 0.0
    both_converted: int = 0
    denominator_total: float = 0.0
    denominator_squares: float = 0.0
    products: float = 0.0


@dataclass(frozen=True)
class Settings:
    """What the analysis takes from the experiment and its phase."""

    names: tuple[str, ...]  # variant keys by position, control first
    weights: tuple[float, ...]
    alpha: float = 0.05
    sequential_tuning: float = 5000
    prior: tuple[float, float, bool] = (0.0, 0.3, False)


def arms_by_position(arms: Sequence[ArmTotals], count: int) -> list[ArmTotals]:
    """Return one arm per position 0..count-1, an empty one where nobody was exposed."""
    found = {arm.variant: arm for arm in arms}
    return [found.get(i, ArmTotals(variant=i)) for i in range(count)]


def _variant(name: str, arm: ArmTotals, metric: str, cuped: bool) -> dict:
    row: dict[str, Any] = {"name": name, "users": arm.users}
    if metric == BINOMIAL:
        row["conversions"] = arm.converted
        if cuped:
            row.update(pre_sum=arm.pre_converted, cross_sum=arm.both_converted)
    elif metric == RATIO:
        row.update(
            numerator_sum=arm.total,
            numerator_sum_squares=arm.squares,
            denominator_sum=arm.denominator_total,
            denominator_sum_squares=arm.denominator_squares,
            numerator_denominator_sum_products=arm.products,
        )
    else:
        row.update(sum=arm.total, sum_squares=arm.squares)
        if cuped:
            row.update(pre_sum=arm.pre_total, pre_sum_squares=arm.pre_squares, cross_sum=arm.cross)
    return row


def body(arms: Sequence[ArmTotals], settings: Settings, metric: str, *, cuped: bool) -> dict:
    """Return the engine's body for these arms (one per position, control first)."""
    mean, stddev, proper = settings.prior
    return {
        "metric": metric,
        "variants": [
            _variant(name, arm, metric, cuped)
            for name, arm in zip(settings.names, arms, strict=True)
        ],
        "weights": list(settings.weights),
        "alpha": settings.alpha,
        "sequential_tuning": settings.sequential_tuning,
        "prior": {"mean": mean, "stddev": stddev, "proper": proper},
        "control_index": 0,
    }


def has_pre_period(arms: Sequence[ArmTotals], metric: str) -> bool:
    """Return whether anyone did anything before exposure: without it CUPED adjusts nothing.
    A ratio has no CUPED (nor has gbstats 0.8.0)."""
    if metric == RATIO:
        return False
    if metric == BINOMIAL:
        return any(arm.pre_converted for arm in arms)
    return any(arm.pre_squares for arm in arms)


def analysis(arms: Sequence[ArmTotals], settings: Settings, metric: str) -> dict:
    """Return {"analysis", "cuped", "error"}: the engine's output, with CUPED when the arms
    have a pre-exposure period and the engine takes it, or why there is none."""
    arms = arms_by_position(arms, len(settings.names))
    attempts = [True, False] if has_pre_period(arms, metric) else [False]
    error = None
    for cuped in attempts:
        try:
            return {
                "analysis": stats.analyse(body(arms, settings, metric, cuped=cuped)),
                "cuped": cuped,
                "error": None,
            }
        except stats.AnalysisInputError as exc:
            error = exc.message
    return {"analysis": None, "cuped": False, "error": f"The totals cannot be analysed: {error}"}


def arm_rows(arms: Sequence[ArmTotals], names: Sequence[str]) -> list[dict]:
    """Return each variant's totals as stored, for the tables and the verdict's sizes."""
    arms = arms_by_position(arms, len(names))
    return [
        {
            "key": name,
            "users": arm.users,
            "converted": arm.converted,
            "sum": arm.total,
            "sum_squares": arm.squares,
            "denominator_sum": arm.denominator_total,
            "denominator_sum_squares": arm.denominator_squares,
            "products": arm.products,
        }
        for name, arm in zip(names, arms, strict=True)
    ]


def segments(arms: Sequence[ArmTotals], settings: Settings, metric: str) -> list[dict]:
    """Return the analysis of each segment value (the arms' `group`), the largest first."""
    groups: dict[Any, list[ArmTotals]] = {}
    for arm in arms:
        groups.setdefault(arm.group, []).append(arm)
    ranked = sorted(groups.items(), key=lambda item: -sum(a.users for a in item[1]))
    return [
        {
            "value": _label(value),
            "users": sum(a.users for a in group),
            **analysis(group, settings, metric),
        }
        for value, group in ranked[:MAX_SEGMENTS]
    ]


def _label(value: Any) -> str:
    if value is True:
        return "new"
    if value is False:
        return "returning"
    return str(value) if value not in (None, "") else "unknown"


def series(daily: Sequence[ArmTotals], names: Sequence[str], metric: str) -> dict:
    """Return the cumulative rate (or mean, or ratio) of each variant by day of exposure: of
    everyone exposed up to that day, what they did. `daily` has the day, as ISO text or a date, in
    `group`."""
    days = sorted({str(arm.group) for arm in daily})
    cells = {(str(arm.group), arm.variant): arm for arm in daily}
    out: dict[str, list[float | None]] = {}
    for position, name in enumerate(names):
        total, below, values = 0.0, 0.0, []
        for day in days:
            arm = cells.get((day, position))
            if arm is not None:
                total += arm.converted if metric == BINOMIAL else arm.total
                below += arm.denominator_total if metric == RATIO else arm.users
            values.append(total / below if below else None)
        out[name] = values
    return {"days": days, "variants": out}

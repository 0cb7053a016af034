"""The results of an experiment in plain words, from its stored results' bodies. Pure:
imports nothing from Django."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import stats


@dataclass(frozen=True)
class Verdict:
    """`level` is what the page styles: win, loss, flat, srm, not_enough or unsupported."""

    level: str
    text: str


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def p_text(p: float | None) -> str:
    if p is None:
        return "p unknown"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def figures(row: Mapping, *, sequential: bool) -> tuple[float | None, list | None]:
    """Return the p-value and interval the verdict reads: the sequential ones when the
    experiment is looked at as it runs (the fixed-horizon ones are only valid once)."""
    if sequential:
        return row.get("seq_p_value"), row.get("seq_ci95")
    return row.get("p_value"), row.get("ci95")


def _detail(row: Mapping, *, alpha: float, sequential: bool, higher_is_better: bool) -> str:
    p, ci = figures(row, sequential=sequential)
    level = f"{1 - alpha:.0%}"
    kind = "sequential " if sequential else ""
    interval = f"{kind}{level} interval {percent(ci[0])} to {percent(ci[1])}" if ci else ""
    chance = row.get("chance_to_win")
    if chance is not None and not higher_is_better:
        chance = 1 - chance
    parts = [interval, f"{kind}{p_text(p)}"]
    if chance is not None:
        parts.append(f"chance to beat control {chance:.1%}")
    return f"{percent(row.get('relative_uplift'))} ({', '.join(x for x in parts if x)})"


def _more_users(body: Mapping, mde: float | None, power: float, alpha: float) -> str:
    if not mde:
        return "set the minimum detectable effect to know how many more users are needed."
    arms = body.get("arms") or []
    if not arms or not arms[0]["users"]:
        return "the control has no users yet."
    control = arms[0]
    n = control["users"]
    try:
        if body["metric"]["kind"] == "ratio":
            ratio = stats.ratio_stats(
                users=n,
                numerator_sum=control["sum"],
                numerator_sum_squares=control["sum_squares"],
                denominator_sum=control["denominator_sum"],
                denominator_sum_squares=control["denominator_sum_squares"],
                numerator_denominator_sum_products=control["products"],
            )
            needed = stats.sample_size_mean(
                mean=ratio.mean, variance=ratio.variance, relative_mde=mde, alpha=alpha, power=power
            )
        elif body["metric"]["kind"] == "mean":
            mean = control["sum"] / n
            variance = control["sum_squares"] / n - mean * mean
            needed = stats.sample_size_mean(
                mean=mean, variance=variance, relative_mde=mde, alpha=alpha, power=power
            )
        else:
            needed = stats.sample_size_binomial(
                baseline_rate=control["converted"] / n, relative_mde=mde, alpha=alpha, power=power
            )
    except (ValueError, ArithmeticError):
        return "the users needed cannot be computed from the control's figures yet."
    more = needed.per_variant - min(arm["users"] for arm in arms)
    if more <= 0:
        return (
            f"the planned {needed.per_variant:,} users per variant are reached: any effect is "
            f"likely smaller than the minimum detectable effect ({mde:.1%})."
        )
    return f"about {more:,} more users per variant are needed for the minimum detectable effect."


def verdict(
    body: Mapping | None,
    *,
    alpha: float,
    sequential: bool,
    mde: float | None = None,
    power: float = 0.8,
) -> Verdict:
    """Return what a stored result of the primary metric says, in one or two sentences."""
    if body is None:
        return Verdict("not_enough", "Not enough data: no result has been computed yet.")
    name = body["metric"]["name"]
    if body.get("unsupported"):
        return Verdict("unsupported", f"{name}: {body['unsupported']}")
    analysis = body.get("analysis")
    if analysis is None:
        return Verdict("not_enough", f"Not enough data: {body.get('error') or 'no analysis'}.")
    if analysis.get("srm_warning"):
        return Verdict(
            "srm",
            f"Sample ratio mismatch ({p_text(analysis['srm_p'])}): the split is not the "
            "configured one; do not trust these results.",
        )
    higher = body["metric"]["higher_is_better"]
    compared = {
        key: row
        for key, row in analysis["variants"].items()
        if row.get("relative_uplift") is not None
    }
    if not compared:
        reasons = "; ".join(f"{n['variant']}: {n['reason']}" for n in analysis["not_enough_data"])
        return Verdict("not_enough", f"Not enough data on {name}: {reasons}")
    detail = dict(alpha=alpha, sequential=sequential, higher_is_better=higher)
    significant = {}
    for key, row in compared.items():
        p, _ = figures(row, sequential=sequential)
        if p is not None and p < alpha:
            significant[key] = row
    better = {k: r for k, r in significant.items() if (r["relative_uplift"] > 0) == higher}
    worse = {k: r for k, r in significant.items() if k not in better}
    sentences = []
    if better:
        best = max(better, key=lambda k: better[k]["relative_uplift"] * (1 if higher else -1))
        sentences.append(
            f"{_capital(best)} beats control on {name}: {_detail(better[best], **detail)}."
        )
    for key, row in worse.items():
        sentences.append(
            f"{_capital(key)} is worse than control on {name}: {_detail(row, **detail)}."
        )
    if sentences:
        return Verdict("win" if better else "loss", " ".join(sentences))
    each = "; ".join(f"{key}: {_detail(row, **detail)}" for key, row in compared.items())
    return Verdict(
        "flat",
        f"No variant differs from control on {name} yet ({each}); "
        + _more_users(body, mde, power, alpha),
    )


def guardrail_warnings(bodies: Sequence[Mapping], *, alpha: float, sequential: bool) -> list[str]:
    """Return a warning for each guardrail metric a variant made significantly worse."""
    warnings = []
    for body in bodies:
        analysis = body.get("analysis")
        if body.get("role") != "guardrail" or not analysis:
            continue
        higher = body["metric"]["higher_is_better"]
        for key, row in analysis["variants"].items():
            p, _ = figures(row, sequential=sequential)
            uplift = row.get("relative_uplift")
            if p is None or uplift is None or math.isnan(uplift) or p >= alpha:
                continue
            if (uplift > 0) != higher:
                detail = _detail(row, alpha=alpha, sequential=sequential, higher_is_better=higher)
                warnings.append(f"Guardrail {body['metric']['name']} is worse in {key}: {detail}.")
    return warnings

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


def _detail(
    row: Mapping,
    *,
    alpha: float,
    sequential: bool,
    higher_is_better: bool,
    p: float | None = None,
    corrected: str = "",
) -> str:
    raw, ci = figures(row, sequential=sequential)
    p = raw if p is None else p
    level = f"{1 - alpha:.0%}"
    kind = ("sequential " if sequential else "") + (f"{corrected} " if corrected else "")
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
    ps = _p_values(compared, sequential=sequential)
    significant = {key: row for key, row in compared.items() if ps[key] < alpha}
    better = {k: r for k, r in significant.items() if (r["relative_uplift"] > 0) == higher}
    worse = {k: r for k, r in significant.items() if k not in better}
    sentences = []
    if better:
        best = max(better, key=lambda k: better[k]["relative_uplift"] * (1 if higher else -1))
        said = _detail(better[best], p=ps[best], corrected=_corrected(compared), **detail)
        sentences.append(f"{_capital(best)} beats control on {name}: {said}.")
    for key, row in worse.items():
        said = _detail(row, p=ps[key], corrected=_corrected(compared), **detail)
        sentences.append(f"{_capital(key)} is worse than control on {name}: {said}.")
    if sentences:
        return Verdict("win" if better else "loss", " ".join(sentences))
    each = "; ".join(
        f"{key}: {_detail(row, p=ps[key], corrected=_corrected(compared), **detail)}"
        for key, row in compared.items()
    )
    return Verdict(
        "flat",
        f"No variant differs from control on {name} yet ({each}); "
        + _more_users(body, mde, power, alpha),
    )


def _p_values(compared: Mapping[str, Mapping], *, sequential: bool) -> dict[str, float]:
    """Each treatment arm's p-value as the verdict reads it: with several arms, Holm-adjusted
    over them (the family of one metric's arms against the control), so that one of many
    arms crossing alpha by chance is not called a winner."""
    raw = {key: figures(row, sequential=sequential)[0] for key, row in compared.items()}
    plain = {key: 1.0 if p is None or math.isnan(p) else p for key, p in raw.items()}
    if len(plain) < 2:
        return plain
    return dict(zip(plain, stats.holm(list(plain.values())), strict=True))


def _corrected(compared: Mapping) -> str:
    return "Holm-adjusted" if len(compared) > 1 else ""


def guardrail_warnings(bodies: Sequence[Mapping], *, alpha: float, sequential: bool) -> list[str]:
    """Return a warning for each guardrail metric a variant made significantly worse."""
    warnings = []
    for body in bodies:
        analysis = body.get("analysis")
        if body.get("role") != "guardrail" or not analysis:
            continue
        higher = body["metric"]["higher_is_better"]
        compared = {
            key: row
            for key, row in analysis["variants"].items()
            if row.get("relative_uplift") is not None
        }
        ps = _p_values(compared, sequential=sequential)
        for key, row in compared.items():
            uplift = row["relative_uplift"]
            if math.isnan(uplift) or ps[key] >= alpha:
                continue
            if (uplift > 0) != higher:
                detail = _detail(
                    row,
                    alpha=alpha,
                    sequential=sequential,
                    higher_is_better=higher,
                    p=ps[key],
                    corrected=_corrected(compared),
                )
                warnings.append(f"Guardrail {body['metric']['name']} is worse in {key}: {detail}.")
    return warnings

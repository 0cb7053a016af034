"""Figures and tables of the experiment results page, as plain plotly figure dicts (data +
layout) built from stored results. Pure: imports nothing from Django; one static script
draws the figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from itertools import accumulate

from .verdict import figures, percent

COLOURS = ("#7f7f7f", "#c2185b", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")
LAYOUT = {"margin": {"l": 60, "r": 20, "t": 40, "b": 40}, "legend": {"orientation": "h"}}


def colour(position: int) -> str:
    return COLOURS[position % len(COLOURS)]


def uplift_figure(bodies: Sequence[Mapping], *, sequential: bool) -> dict:
    """Return each variant's relative uplift over control with its interval, per metric,
    as points with error bars around a zero line. Variants without figures are left out."""
    labels, uplifts, above, below, colours = [], [], [], [], []
    for body in bodies:
        analysis = body.get("analysis") or {}
        for position, (key, row) in enumerate(analysis.get("variants", {}).items(), start=1):
            uplift = row.get("relative_uplift")
            _, ci = figures(row, sequential=sequential)
            if uplift is None or not ci or None in ci:
                continue
            labels.append(f"{body['metric']['name']} · {key}")
            uplifts.append(uplift)
            above.append(ci[1] - uplift)
            below.append(uplift - ci[0])
            colours.append(colour(position))
    kind = "sequential interval" if sequential else "interval"
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": uplifts,
                "y": labels,
                "marker": {"color": colours, "size": 10},
                "error_x": {"type": "data", "array": above, "arrayminus": below},
                "name": "uplift",
            }
        ],
        "layout": {
            **LAYOUT,
            "title": {"text": f"Relative uplift over control, with its {kind}"},
            "xaxis": {"tickformat": "+.0%", "zeroline": False},
            "yaxis": {"automargin": True, "autorange": "reversed"},
            "shapes": [
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": 0,
                    "x1": 0,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#333", "dash": "dot"},
                }
            ],  # fmt: skip
            "height": max(220, 60 + 40 * len(labels)),
        },
    }


# Days as days: with one day of data plotly would otherwise tick fractions of a second.
DAYS = {"type": "date", "tickformat": "%b %d", "dtick": 86_400_000}


def exposures_figure(daily: Sequence[tuple[dt.date, int, int]], names: Sequence[str]) -> dict:
    """Return the cumulative exposures of each variant by day, from (day, position, count)."""
    days = sorted({day for day, _, _ in daily})
    counts = {(day, position): n for day, position, n in daily}
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [day.isoformat() for day in days],
            "y": list(accumulate(counts.get((day, position), 0) for day in days)),
            "line": {"color": colour(position)},
        }
        for position, name in enumerate(names)
    ]
    return {
        "data": data,
        "layout": {**LAYOUT, "title": {"text": "Exposures, cumulative, by day"}, "xaxis": DAYS},
    }


def metric_figure(body: Mapping | None, names: Sequence[str] = ()) -> dict:
    """Return the primary metric of each variant over time: of the users exposed up to each
    day, their conversion rate (or mean). `names` gives the variants' order (control first)
    and so their colours, as in the other charts: a stored body's keys come back sorted."""
    series = (body or {}).get("series") or {"days": [], "variants": {}}
    stored = series["variants"]
    ordered = [name for name in names if name in stored] + [n for n in stored if n not in names]
    kind = (body or {}).get("metric", {}).get("kind")
    name = (body or {}).get("metric", {}).get("name", "Primary metric")
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": key,
            "x": series["days"],
            "y": stored[key],
            "line": {"color": colour(position)},
        }
        for position, key in enumerate(ordered)
    ]
    what = {"mean": "mean per user", "ratio": "ratio"}.get(kind, "conversion rate")
    return {
        "data": data,
        "layout": {
            **LAYOUT,
            "title": {"text": f"{name}: {what} of everyone exposed so far, by day of exposure"},
            "xaxis": DAYS,
            "yaxis": {"tickformat": ".1%"} if kind not in ("mean", "ratio") else {},
        },
    }


def _number(value: float | None, *, rate: bool) -> str:
    if value is None:
        return "—"
    return f"{value:.2%}" if rate else f"{value:.4g}"


def _p(value: float | None) -> str:
    return "—" if value is None else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def figure_rows(body: Mapping, *, sequential: bool) -> list[dict]:
    """Return the table of one metric as text: a row per variant, control first, with every
    figure, or the reason it has none (in words, never a number)."""
    analysis = body.get("analysis")
    if not analysis:
        return []
    rate = body["metric"]["kind"] not in ("mean", "ratio")
    key = "rate" if rate else "mean"
    reasons = {n["variant"]: n["reason"] for n in analysis["not_enough_data"]}
    rows = [
        {
            "variant": analysis["control"],
            "control": True,
            "users": analysis["control_users"],
            "value": _number(analysis.get(f"control_{key}"), rate=rate),
        }
    ]
    for variant, row in analysis["variants"].items():
        p, ci = figures(row, sequential=sequential)
        risk = row.get("risk") or [None, None]
        rows.append(
            {
                "variant": variant,
                "control": False,
                "users": row["users"],
                "value": _number(row.get(key), rate=rate),
                "reason": reasons.get(variant),
                "uplift": percent(row.get("relative_uplift")),
                "ci": f"{percent(ci[0])} to {percent(ci[1])}" if ci and None not in ci else "—",
                "p": _p(p),
                "p_holm": _p(row.get("p_value_holm")),
                "p_bh": _p(row.get("p_value_bh")),
                "chance_to_win": _number(row.get("chance_to_win"), rate=True),
                "risk": f"{_number(risk[0], rate=True)} / {_number(risk[1], rate=True)}",
            }
        )
    return rows


def segment_rows(segments: Mapping[str, Sequence[Mapping]]) -> dict[str, list[dict]]:
    """Return the primary metric's breakdown as text: by field, a row per segment value and
    variant with its fixed-horizon uplift, interval and p-value, or why there is none."""
    out: dict[str, list[dict]] = {}
    for field, groups in segments.items():
        rows = out.setdefault(field, [])
        for group in groups:
            analysis = group.get("analysis")
            if not analysis:
                reason = group.get("error") or "no analysis"
                rows.append({"value": group["value"], "users": group["users"], "reason": reason})
                continue
            reasons = {n["variant"]: n["reason"] for n in analysis["not_enough_data"]}
            for variant, row in analysis["variants"].items():
                ci = row.get("ci95")
                rows.append(
                    {
                        "value": group["value"],
                        "users": group["users"],
                        "variant": variant,
                        "reason": reasons.get(variant),
                        "uplift": percent(row.get("relative_uplift")),
                        "ci": f"{percent(ci[0])} to {percent(ci[1])}"
                        if ci and None not in ci
                        else "—",
                        "p": _p(row.get("p_value")),
                    }
                )
    return out

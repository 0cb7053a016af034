"""What a dashboard query answers, and how each kind of widget draws it, as plain data:
plotly figure dicts for charts, a number for cards, columns and rows for tables. Pure: no
Django, so a widget's look is tested without a database."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

VALUE, SERIES, TABLE, GRID = "value", "series", "table", "grid"

# The shape each kind of widget draws; a query must answer in it.
KIND_SHAPES = {
    "metric": VALUE,
    "gauge": VALUE,
    "line": SERIES,
    "bar": SERIES,
    "pie": SERIES,
    "heatmap": GRID,
    "table": TABLE,
}
PALETTE = ("#2f6fde", "#e0723a", "#3aa76d", "#b5489b", "#8a8f98", "#d4b300", "#1aa3b8")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    x: tuple  # datetimes for a time series, labels for a categorical one
    y: tuple  # numbers, None where nothing is known


@dataclass(frozen=True, slots=True)
class Grid:
    x: tuple[str, ...]
    y: tuple[str, ...]
    z: tuple[tuple[float | None, ...], ...]  # one row per y label


@dataclass(frozen=True, slots=True)
class Answer:
    """A query's answer over one range. A query fills the shapes it can give; `unit` is
    the value's ("%" for shares from 0 to 1, "ms", "" for counts)."""

    unit: str = ""
    value: float | None = None
    series: tuple[Series, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()
    grid: Grid | None = None
    note: str = ""
    shapes: frozenset = field(default_factory=frozenset)

    def table(self) -> tuple[tuple[str, ...], tuple[tuple, ...]]:
        """Return columns and rows, from the series when the answer has no rows of its own."""
        if self.columns:
            return self.columns, self.rows
        if self.series:
            first = self.series[0]
            columns = ("", *(s.name for s in self.series))
            rows = tuple(
                (x, *(s.y[i] if i < len(s.y) else None for s in self.series))
                for i, x in enumerate(first.x)
            )
            return columns, rows
        if self.value is not None:
            return ("value",), ((self.value,),)
        return (), ()


def plain(value):
    """Return a value JSON can carry: datetimes and dates as ISO text, floats rounded,
    NaN and infinities as None."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    return value


def number_text(value: float | None, unit: str) -> str:
    """Return a figure as a card shows it: "—" for unknown, shares as percentages, big
    counts with thousands separators."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f} %"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _layout(**more) -> dict:
    # No title: the widget's heading names it (and an export's section does).
    layout = {
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "height": 280,
        "showlegend": more.pop("showlegend", True),
        "legend": {"orientation": "h"},
    }
    layout.update(more)
    return layout


def _series_traces(answer: Answer, kind: str) -> list[dict]:
    traces = []
    for i, series in enumerate(answer.series):
        trace = {
            "name": series.name,
            "x": [plain(x) for x in series.x],
            "y": [plain(y) for y in series.y],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
        }
        if kind == "line":
            trace.update(type="scatter", mode="lines", line={"color": PALETTE[i % len(PALETTE)]})
        else:
            trace["type"] = "bar"
        traces.append(trace)
    return traces


def _slices(answer: Answer) -> tuple[list, list]:
    """A pie's labels and values: over time, each series' total is a slice (deliveries by
    channel); otherwise the first series' points are (votes by artist)."""
    if not answer.series:
        return [], []
    first = answer.series[0]
    if first.x and isinstance(first.x[0], dt.date):
        return [s.name for s in answer.series], [sum(y or 0 for y in s.y) for s in answer.series]
    return [plain(x) for x in first.x], [plain(y) or 0 for y in first.y]


EMPTY = {
    "text": "Nothing in this range",
    "showarrow": False,
    "xref": "paper",
    "yref": "paper",
    "x": 0.5,
    "y": 0.5,
    "font": {"color": "#555"},
}


def _empty(answer: Answer, kind: str) -> bool:
    if kind == "heatmap":
        return answer.grid is None or not answer.grid.z
    return not any(y for series in answer.series for y in series.y)


def draw(kind: str, title: str, answer: Answer, options: dict | None = None) -> dict:
    """Return what a widget of `kind` shows for `answer`: {"kind", "title", "note"} and
    "figure" (a plotly figure dict) for charts, "value" and "text" for a metric card (a
    gauge has both), "columns" and "rows" for a table."""
    options = options or {}
    out = {"kind": kind, "title": title, "note": answer.note}
    if kind == "metric":
        out.update(value=plain(answer.value), text=number_text(answer.value, answer.unit))
    elif kind == "gauge":
        low, high = options.get("min", 0), options.get("max")
        if high is None:
            high = 1 if answer.unit == "%" else max(1, (answer.value or 0) * 2)
        scale = 100 if answer.unit == "%" else 1
        steps = [
            {"range": [step["from"] * scale, step["to"] * scale], "color": step["color"]}
            for step in options.get("steps", ())
        ]
        shown = None if answer.value is None else answer.value * scale
        out.update(
            value=plain(answer.value),
            text=number_text(answer.value, answer.unit),
            figure={
                "data": [
                    {
                        "type": "indicator",
                        "mode": "gauge+number",
                        "value": plain(shown),
                        "number": {"suffix": " %" if answer.unit == "%" else ""},
                        "gauge": {
                            "axis": {"range": [low * scale, high * scale]},
                            "bar": {"color": PALETTE[0]},
                            "steps": steps,
                        },
                    }
                ],
                "layout": _layout(
                    showlegend=False, height=200, margin={"l": 24, "r": 24, "t": 24, "b": 8}
                ),
            },
        )
    elif kind in ("line", "bar"):
        many = len(answer.series) > 1
        out["figure"] = {
            "data": _series_traces(answer, kind),
            "layout": _layout(showlegend=many, barmode="group" if many else None),
        }
    elif kind == "pie":
        labels, values = _slices(answer)
        out["figure"] = {
            "data": [
                {
                    "type": "pie",
                    "labels": labels,
                    "values": values,
                    "hole": 0.4,
                    "marker": {"colors": list(PALETTE)},
                    "sort": False,
                }
            ],
            "layout": _layout(),
        }
    elif kind == "heatmap":
        grid = answer.grid or Grid((), (), ())
        out["figure"] = {
            "data": [
                {
                    "type": "heatmap",
                    "x": list(grid.x),
                    "y": list(grid.y),
                    "z": [[plain(v) for v in row] for row in grid.z],
                    "colorscale": "Blues",
                    "reversescale": True,  # plotly's Blues runs dark to light
                    "texttemplate": "%{z:.0%}" if answer.unit == "%" else "%{z}",
                    "hoverongaps": False,
                }
            ],
            "layout": _layout(
                showlegend=False,
                xaxis={"type": "category"},
                yaxis={"type": "category", "autorange": "reversed", "automargin": True},
            ),
        }
    elif kind == "table":
        columns, rows = answer.table()
        out.update(columns=list(columns), rows=[[plain(v) for v in row] for row in rows])
    else:
        raise ValueError(f"unknown widget kind {kind!r}")
    if "figure" in out and kind != "gauge" and _empty(answer, kind):
        out["figure"]["layout"]["annotations"] = [EMPTY]
    return out


def drawing_table(drawing: dict) -> tuple[list[str], list[list]]:
    """Return a widget's drawing as columns and rows, for exports: a table's own, a card's
    value, a chart's points (x, then each trace), a pie's slices, a heatmap's grid."""
    if drawing.get("error"):
        return ["error"], [[drawing["error"]]]
    if "columns" in drawing:
        return list(drawing["columns"]), [list(row) for row in drawing["rows"]]
    if drawing.get("kind") in ("metric", "gauge"):
        return ["value", "shown as"], [[drawing.get("value"), drawing.get("text")]]
    traces = (drawing.get("figure") or {}).get("data") or []
    if not traces:
        return [], []
    first = traces[0]
    if first.get("type") == "pie":
        return ["label", "value"], [
            list(pair) for pair in zip(first["labels"], first["values"], strict=True)
        ]
    if first.get("type") == "heatmap":
        return ["", *first["x"]], [
            [label, *row] for label, row in zip(first["y"], first["z"], strict=True)
        ]
    columns = ["", *(t.get("name", "") for t in traces)]
    rows = [
        [x, *(t["y"][i] if i < len(t["y"]) else None for t in traces)]
        for i, x in enumerate(first["x"])
    ]
    return columns, rows

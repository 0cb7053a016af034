"""The one shape every export takes, whatever writes it: a document of titled sections, each
a table (columns and rows) and perhaps a chart as a plotly figure. Pure Python.

Rows are any iterable, read once, in order, by the writer: a section of a million rows is a
generator and is never held whole. A chart is the plotly figure dict the pages draw
(`{"data": [...], "layout": {...}}`), so a report's PDF shows what its page shows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime  # exclusive

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class Section:
    title: str
    columns: Sequence[str]
    rows: Iterable[Sequence] = ()
    chart: dict | None = None  # a plotly figure: {"data": [...], "layout": {...}}
    # Or a chart drawn from the rows once they are read (bounded writers only): "line" or
    # "bar", the first column along x and each other column a series.
    chart_kind: str = ""
    note: str = ""
    # How many rows there are, when known without reading them (a progress bar's total).
    size: int | None = None


@dataclass(frozen=True)
class Document:
    title: str
    generated_at: dt.datetime
    period: Period | None
    sections: Sequence[Section] = field(default_factory=tuple)
    summary: Sequence[str] = ()  # a few lines in words, above the sections

    @property
    def size(self) -> int | None:
        """Rows in all sections, when every section says; None otherwise."""
        sizes = [s.size for s in self.sections]
        return None if any(n is None for n in sizes) else sum(sizes)


def cell(value):
    """Return a value as a writer stores it: numbers, texts and None as they are (None for
    a number that is not finite), a datetime in ISO 8601 (UTC when aware), anything else
    as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON and spreadsheets have no NaN or infinity
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def rows_figure(section: Section, rows: Sequence[Sequence]) -> dict | None:
    """Return the plotly figure of a section's `chart_kind` drawn from its rows (read)."""
    if not section.chart_kind or not rows or len(section.columns) < 2:
        return None
    x = [cell(row[0]) for row in rows]
    data = [
        {
            "type": "bar" if section.chart_kind == "bar" else "scatter",
            "mode": "lines",
            "name": str(name),
            "x": x,
            "y": [cell(row[i]) for row in rows],
        }
        for i, name in enumerate(section.columns[1:], start=1)
    ]
    return {"data": data, "layout": {"title": {"text": section.title}}}


def to_dict(document: Document) -> dict:
    """Return the whole document as plain JSON-ready data (rows read, so for stored reports
    and small documents only)."""
    return {
        "title": document.title,
        "generated_at": cell(document.generated_at),
        "period": None
        if document.period is None
        else {"start": cell(document.period.start), "end": cell(document.period.end)},
        "summary": list(document.summary),
        "sections": [
            {
                "title": s.title,
                "columns": list(s.columns),
                "rows": [[cell(v) for v in row] for row in s.rows],
                "chart": s.chart,
                "chart_kind": s.chart_kind,
                "note": s.note,
            }
            for s in document.sections
        ],
    }


def _moment(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def from_dict(data: dict) -> Document:
    """Return the document `to_dict` gave."""
    period = data.get("period")
    sections = tuple(
        Section(
            title=s["title"],
            columns=tuple(s["columns"]),
            rows=[tuple(row) for row in s["rows"]],
            chart=s.get("chart"),
            chart_kind=s.get("chart_kind", ""),
            note=s.get("note", ""),
            size=len(s["rows"]),
        )
        for s in data["sections"]
    )
    return Document(
        title=data["title"],
        generated_at=_moment(data["generated_at"]),
        period=None if period is None else Period(_moment(period["start"]), _moment(period["end"])),
        sections=sections,
        summary=tuple(data.get("summary", ())),
    )

"""The PDF writer: a document's title, period and summary, then each section's chart, drawn
from its plotly figure (lines, bars or a pie) with reportlab's vector graphics, and its
table. Pure Python (and reportlab).

A PDF is laid out whole before it is written, so it is bounded: more than MAX_ROWS rows
raise ExportError before a byte is written, saying to export CSV instead.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from monitoring.exports.document import Document, Section, cell, rows_figure
from monitoring.exports.writers import sections_bounded

MAX_ROWS = 2000
PALETTE = [
    colors.HexColor(c)
    for c in ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
]
PAGE = landscape(A4)
CHART_WIDTH, CHART_HEIGHT = PAGE[0] - 30 * mm, 70 * mm


def _label(value) -> str:
    text = "" if value is None else str(cell(value))
    # ISO times read better without seconds and the UTC offset on a crowded axis.
    if len(text) >= 16 and text[4:5] == "-" and text[10:11] == "T":
        return text[:10] if text[11:16] == "00:00" else text[5:16].replace("T", " ")
    return text[:18]


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _title(figure: dict) -> str:
    title = (figure.get("layout") or {}).get("title")
    return (title.get("text") if isinstance(title, dict) else title) or ""


def _legend(drawing: Drawing, names: Sequence[str], x: float, y: float) -> None:
    if len(names) < 2:
        return
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontSize = 7
    legend.columnMaximum = 8
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], n[:30]) for i, n in enumerate(names)]
    drawing.add(legend)


def _pie(figure: dict, trace: dict) -> Drawing | None:
    values = [_number(v) or 0.0 for v in trace.get("values") or []]
    labels = [_label(v) for v in trace.get("labels") or []]
    if not values or sum(values) <= 0:
        return None
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    pie = Pie()
    pie.x, pie.y = 30, 10
    pie.width = pie.height = CHART_HEIGHT - 30
    pie.data = values
    pie.labels = None
    for i in range(len(values)):
        pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
    drawing.add(pie)
    _legend(
        drawing,
        labels or [str(i) for i in range(len(values))],
        CHART_HEIGHT + 30,
        CHART_HEIGHT - 20,
    )
    return drawing


def _bars(traces: list[dict]) -> Drawing | None:
    categories = [_label(x) for x in traces[0].get("x") or []]
    if not categories:
        return None
    data = [
        [_number(y) or 0.0 for y in (t.get("y") or [])][: len(categories)]
        + [0.0] * max(0, len(categories) - len(t.get("y") or []))
        for t in traces
    ]
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 30
    chart.width, chart.height = CHART_WIDTH - 180, CHART_HEIGHT - 45
    chart.data = data
    chart.categoryAxis.categoryNames = [
        c if i % max(1, len(categories) // 12) == 0 else "" for i, c in enumerate(categories)
    ]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30 if len(categories) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(categories) > 6 else "n"
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = min(0.0, *(v for row in data for v in row))
    for i in range(len(data)):
        chart.bars[i].fillColor = PALETTE[i % len(PALETTE)]
    drawing.add(chart)
    _legend(
        drawing, [str(t.get("name") or "") for t in traces], CHART_WIDTH - 130, CHART_HEIGHT - 20
    )
    return drawing


def _lines(traces: list[dict]) -> Drawing | None:
    labels = [_label(x) for x in traces[0].get("x") or []]
    data = []
    for trace in traces:
        ys = trace.get("y") or []
        points = [(i, y) for i, y in enumerate(_number(v) for v in ys) if y is not None]
        data.append(points or [(0, 0.0)])
    if not labels or not any(len(points) > 1 for points in data):
        return _bars(traces) if labels else None
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    plot = LinePlot()
    plot.x, plot.y = 40, 30
    plot.width, plot.height = CHART_WIDTH - 180, CHART_HEIGHT - 45
    plot.data = data
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, max(1, len(labels) - 1)
    step = max(1, (len(labels) - 1) // 8)
    plot.xValueAxis.valueSteps = list(range(0, len(labels), step))
    plot.xValueAxis.labelTextFormat = lambda i: labels[int(i)] if 0 <= int(i) < len(labels) else ""
    plot.xValueAxis.labels.fontSize = 6
    plot.yValueAxis.labels.fontSize = 7
    lowest = min(y for points in data for _, y in points)
    plot.yValueAxis.valueMin = min(0.0, lowest)
    for i in range(len(data)):
        plot.lines[i].strokeColor = PALETTE[i % len(PALETTE)]
        plot.lines[i].strokeWidth = 1.2
    drawing.add(plot)
    _legend(
        drawing, [str(t.get("name") or "") for t in traces], CHART_WIDTH - 130, CHART_HEIGHT - 20
    )
    return drawing


def chart_drawing(figure: dict | None) -> Drawing | None:
    """Return a drawing of a plotly figure's traces: a pie for a pie, bars when any trace is
    bars, lines otherwise (scatter traces); None when it holds nothing to draw."""
    if not isinstance(figure, dict):
        return None
    traces = [t for t in figure.get("data") or [] if isinstance(t, dict)]
    if not traces:
        return None
    kinds = {t.get("type", "scatter") for t in traces}
    if "pie" in kinds:
        drawing = _pie(figure, next(t for t in traces if t.get("type") == "pie"))
    elif "bar" in kinds:
        drawing = _bars([t for t in traces if t.get("type") == "bar"])
    else:
        drawing = _lines(traces)
    if drawing is not None and (title := _title(figure)):
        drawing.add(String(0, CHART_HEIGHT - 8, title[:120], fontSize=8))
    return drawing


def _table(section: Section, styles) -> Flowable:
    small = styles["BodyText"].clone("cell", fontSize=7, leading=8)
    head = [Paragraph(f"<b>{escape(str(c))}</b>", small) for c in section.columns]
    body = [
        [Paragraph(escape("" if v is None else str(cell(v))), small) for v in row]
        for row in section.rows
    ]
    width = (PAGE[0] - 30 * mm) / max(1, len(section.columns))
    table = LongTable([head, *body], repeatRows=1, colWidths=[width] * len(section.columns))
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def pdf_bytes(document: Document, *, max_rows: int = MAX_ROWS) -> bytes:
    """Return the document as a PDF; ExportError if it has more than `max_rows` rows."""
    sections = sections_bounded(document, max_rows)
    styles = getSampleStyleSheet()
    story: list[Flowable] = [Paragraph(escape(document.title), styles["Title"])]
    about = f"Generated {document.generated_at:%Y-%m-%d %H:%M} UTC"
    if document.period is not None:
        about += f" · {document.period.label()}"
    story.append(Paragraph(escape(about), styles["Normal"]))
    for line in document.summary:
        story.append(Paragraph(escape(line), styles["Normal"]))
    for section in sections:
        parts: list[Flowable] = [
            Spacer(1, 6 * mm),
            Paragraph(escape(section.title), styles["Heading2"]),
        ]
        if section.note:
            parts.append(Paragraph(escape(section.note), styles["Italic"]))
        drawing = chart_drawing(section.chart or rows_figure(section, section.rows))
        if drawing is not None:
            parts.append(drawing)
        story.append(KeepTogether(parts))
        if section.columns and section.rows:
            story.append(_table(section, styles))
        elif section.columns:
            story.append(Paragraph("No rows.", styles["Italic"]))
    target = io.BytesIO()
    pdf = SimpleDocTemplate(
        target,
        pagesize=PAGE,
        title=document.title,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    )
    pdf.build(story)
    return target.getvalue()

"""The export writers alone: each format read back by its own reader, rows streamed from an
iterable read once, a PDF with its title and drawn charts, and its row limit."""

import csv
import datetime as dt
import io
import json
import math
import re
import tracemalloc

import openpyxl
import pypdf
import pytest

from monitoring.exports import pdf, writers
from monitoring.exports.document import (
    Document,
    Period,
    Section,
    cell,
    from_dict,
    rows_figure,
    to_dict,
)

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


class ReadOnce:
    """Rows from a generator that fails if anyone reads them a second time, and counts how
    many have been read."""

    def __init__(self, n: int):
        self.n, self.read, self.started = n, 0, False

    def __iter__(self):
        if self.started:
            raise AssertionError("the rows were read twice")
        self.started = True
        for i in range(self.n):
            self.read += 1
            yield (T0 + dt.timedelta(minutes=i), i % 97, f"row {i}")


def document(rows, *, chart=None, chart_kind="", size=None, title="Votes by minute"):
    return Document(
        title=title,
        generated_at=T0,
        period=Period(T0, T0 + dt.timedelta(days=1)),
        summary=("3 votes in all.",),
        sections=(
            Section(
                "votes",
                ("minute_utc", "votes", "label"),
                rows,
                chart=chart,
                chart_kind=chart_kind,
                size=size,
            ),
        ),
    )


def test_cell_writes_times_in_utc_and_no_nan():
    paris = dt.timezone(dt.timedelta(hours=1))
    assert cell(dt.datetime(2026, 12, 1, 13, 0, tzinfo=paris)) == "2026-12-01T12:00:00+00:00"
    assert cell(dt.date(2026, 12, 1)) == "2026-12-01"
    assert cell(math.nan) is None and cell(math.inf) is None
    assert cell(3) == 3 and cell("x") == "x" and cell(None) is None


def test_csv_streams_a_large_export_reading_each_row_once():
    rows = ReadOnce(100_000)
    chunks = writers.csv_chunks(document(rows))
    first = next(chunks)
    assert rows.read < 1000  # the first chunk went out before most rows were read
    tracemalloc.start()
    size = len(first)
    for chunk in chunks:
        size += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rows.read == 100_000
    assert size > 3_000_000 and peak < 1_000_000  # never held whole: a few chunks at a time


def test_csv_reads_back_in_the_csv_module():
    text = "".join(writers.csv_chunks(document(ReadOnce(1000))))
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["minute_utc", "votes", "label"]
    assert len(table) == 1001
    assert table[1] == ["2026-12-01T00:00:00+00:00", "0", "row 0"]
    assert table[-1][2] == "row 999"


def test_csv_of_several_sections_heads_each_with_its_title():
    doc = Document(
        "Two",
        T0,
        None,
        sections=(Section("First", ("a",), [(1,)]), Section("Second", ("b",), [(None,)])),
    )
    table = list(csv.reader(io.StringIO("".join(writers.csv_chunks(doc)))))
    assert table == [["First"], ["a"], ["1"], [], ["Second"], ["b"], [""], []]


def test_json_streams_and_reads_back_in_json_loads():
    rows = ReadOnce(20_000)
    chunks = writers.json_chunks(document(rows))
    next(chunks)
    next(chunks)
    assert rows.read < 1000
    rows = ReadOnce(20_000)
    data = json.loads("".join(writers.json_chunks(document(rows))))
    assert data["title"] == "Votes by minute"
    assert data["period"] == {
        "start": "2026-12-01T00:00:00+00:00",
        "end": "2026-12-02T00:00:00+00:00",
    }
    (section,) = data["sections"]
    assert section["columns"] == ["minute_utc", "votes", "label"]
    assert len(section["rows"]) == 20_000
    assert section["rows"][5] == ["2026-12-01T00:05:00+00:00", 5, "row 5"]


def test_json_writes_no_nan():
    doc = document([(T0, math.nan, "x")])
    data = json.loads("".join(writers.json_chunks(doc)))
    assert data["sections"][0]["rows"] == [["2026-12-01T00:00:00+00:00", None, "x"]]


def test_xlsx_opens_in_openpyxl_with_every_row(tmp_path):
    rows = ReadOnce(5000)
    target = tmp_path / "out.xlsx"
    with target.open("wb") as out:
        writers.xlsx_write(document(rows), out)
    book = openpyxl.load_workbook(target, read_only=True)
    assert book.sheetnames == ["About", "votes"]
    about = [row for row in book["About"].iter_rows(values_only=True)]
    assert about[0][0] == "Votes by minute"
    assert ("3 votes in all.",) == about[-1][:1]
    table = list(book["votes"].iter_rows(values_only=True))
    assert table[0] == ("minute_utc", "votes", "label")
    assert len(table) == 5001
    assert table[1] == (dt.datetime(2026, 12, 1), 0, "row 0")  # UTC, as the column says


def test_progress_is_reported_while_writing():
    seen = []
    "".join(writers.csv_chunks(document(ReadOnce(1200)), progress=seen.append))
    assert seen == [500, 1000, 1200]


def _pdf_text(data: bytes):
    reader = pypdf.PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_has_the_title_and_a_drawn_line_chart():
    rows = [(T0 + dt.timedelta(hours=i), (i * 7) % 11, f"r{i}") for i in range(48)]
    data = pdf.pdf_bytes(document(rows, chart_kind="line", title="Votes by hour, Dec 1"))
    reader, text = _pdf_text(data)
    assert "Votes by hour, Dec 1" in text
    assert "3 votes in all." in text and "r47" in text
    assert reader.metadata.title == "Votes by hour, Dec 1"
    # The chart's polyline: 47 more line segments than the same page without the chart.
    plain = pdf.pdf_bytes(document(rows, title="Votes by hour, Dec 1"))
    assert _segments(data) - _segments(plain) >= 47


def _segments(data: bytes) -> int:
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    return len(re.findall(r"[\d.]+ [\d.]+ l\b", page.get_contents().get_data().decode("latin-1")))


@pytest.mark.parametrize(
    "figure",
    [
        {"data": [{"type": "bar", "x": ["a", "b", "c"], "y": [1, 5, 2]}], "layout": {}},
        {"data": [{"type": "pie", "labels": ["a", "b"], "values": [3, 1]}], "layout": {}},
    ],
)
def test_pdf_draws_bars_and_pies_from_the_figure(figure):
    chart = pdf.chart_drawing(figure)
    assert chart is not None and chart.contents  # something to draw
    data = pdf.pdf_bytes(document([(T0, 1, "x")], chart=figure))
    plain = pdf.pdf_bytes(document([(T0, 1, "x")]))

    def shapes(data: bytes) -> int:
        content = pypdf.PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()
        return content.count(b" re ") + content.count(b" c\n")  # rectangles, curves

    assert shapes(data) > shapes(plain) + 1  # bars are rectangles, pie slices curves


def test_pdf_without_a_chart_draws_none():
    assert pdf.chart_drawing(None) is None
    assert pdf.chart_drawing({"data": [], "layout": {}}) is None


def test_pdf_refuses_too_many_rows_before_writing_saying_to_use_csv():
    rows = ReadOnce(pdf.MAX_ROWS + 10)
    with pytest.raises(writers.ExportError, match="as CSV"):
        pdf.pdf_bytes(document(rows))
    assert rows.read == pdf.MAX_ROWS + 1  # stopped at the first row over
    with pytest.raises(writers.ExportError, match="5,000 rows"):
        pdf.pdf_bytes(document(ReadOnce(5000), size=5000))


def test_rows_figure_and_the_stored_form_round_trip():
    doc = document([(T0, 2, "a"), (T0 + dt.timedelta(minutes=1), 3, "b")], chart_kind="line")
    again = from_dict(json.loads(json.dumps(to_dict(doc))))
    assert again.title == doc.title and again.period == doc.period
    (section,) = again.sections
    assert list(section.rows) == [
        ("2026-12-01T00:00:00+00:00", 2, "a"),
        ("2026-12-01T00:01:00+00:00", 3, "b"),
    ]
    figure = rows_figure(section, list(section.rows))
    assert figure["data"][0]["y"] == [2, 3] and figure["data"][0]["type"] == "scatter"

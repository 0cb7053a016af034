"""Writers of a Document as CSV, JSON and XLSX. Pure Python (and openpyxl).

CSV and JSON come out as a generator of text chunks, each row read from the section's
iterable as it is written, so an export of any length is never held in memory. XLSX goes
through openpyxl's write-only workbook, which keeps rows in a temporary file, not in memory.
`progress` (when given) is called with the rows written so far, every PROGRESS_EVERY rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import BinaryIO

from monitoring.exports.document import Document, Section, cell

PROGRESS_EVERY = 500
Progress = Callable[[int], None] | None


class ExportError(ValueError):
    """A document that cannot be written in the asked format (too large, say)."""


class _Counter:
    def __init__(self, progress: Progress):
        self.rows = 0
        self.progress = progress

    def add(self) -> None:
        self.rows += 1
        if self.progress is not None and self.rows % PROGRESS_EVERY == 0:
            self.progress(self.rows)

    def done(self) -> None:
        if self.progress is not None:
            self.progress(self.rows)


class _Line:
    """A file-like the csv writer writes one line into, taken back at once."""

    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def take(self) -> str:
        text, self.text = self.text, ""
        return text


def csv_chunks(document: Document, *, progress: Progress = None) -> Iterator[str]:
    """Yield the document as CSV. A single section is a plain table (its columns, then its
    rows); several are each headed by a row holding the section's title alone and followed
    by an empty row."""
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    counter = _Counter(progress)
    several = len(document.sections) > 1
    buffer: list[str] = []
    for section in document.sections:
        if several:
            writer.writerow([section.title])
        writer.writerow(section.columns)
        buffer.append(line.take())
        for row in section.rows:
            writer.writerow(["" if v is None else cell(v) for v in row])
            buffer.append(line.take())
            counter.add()
            if len(buffer) >= 200:
                yield "".join(buffer)
                buffer.clear()
        if several:
            writer.writerow([])
            buffer.append(line.take())
    yield "".join(buffer)
    counter.done()


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=cell)


def json_chunks(document: Document, *, progress: Progress = None) -> Iterator[str]:
    """Yield the document as one JSON object: title, generated_at, period, summary and
    sections, each with its title, columns, chart, note and rows (arrays in column order)."""
    counter = _Counter(progress)
    period = None
    if document.period is not None:
        period = {"start": cell(document.period.start), "end": cell(document.period.end)}
    yield (
        f'{{"title": {_dumps(document.title)}, '
        f'"generated_at": {_dumps(cell(document.generated_at))}, '
        f'"period": {_dumps(period)}, "summary": {_dumps(list(document.summary))}, '
        '"sections": ['
    )
    for index, section in enumerate(document.sections):
        yield (
            f'{", " if index else ""}{{"title": {_dumps(section.title)}, '
            f'"columns": {_dumps(list(section.columns))}, "chart": {_dumps(section.chart)}, '
            f'"note": {_dumps(section.note)}, "rows": ['
        )
        buffer: list[str] = []
        first = True
        for row in section.rows:
            buffer.append(("" if first else ", ") + _dumps([cell(v) for v in row]))
            first = False
            counter.add()
            if len(buffer) >= 200:
                yield "".join(buffer)
                buffer.clear()
        buffer.append("]}")
        yield "".join(buffer)
    yield "]}"
    counter.done()


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str, taken: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub(" ", title).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base[:26]} {n}", n + 1
    taken.add(name.lower())
    return name


def _xlsx_cell(value):
    if isinstance(value, dt.datetime):
        # Spreadsheets have no time zones: UTC, said in the column's name.
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return value
    return cell(value)


def xlsx_write(document: Document, target: BinaryIO, *, progress: Progress = None) -> None:
    """Write the document as an XLSX workbook to `target`: a first sheet with its title,
    time, period and summary, then a sheet per section (times in UTC)."""
    from openpyxl import Workbook

    counter = _Counter(progress)
    book = Workbook(write_only=True)
    taken: set[str] = set()
    about = book.create_sheet(_sheet_title("About", taken))
    about.append([document.title])
    about.append(["Generated (UTC)", _xlsx_cell(document.generated_at)])
    if document.period is not None:
        about.append(["From (UTC)", _xlsx_cell(document.period.start)])
        about.append(["To (UTC)", _xlsx_cell(document.period.end)])
    for line in document.summary:
        about.append([line])
    for section in document.sections:
        sheet = book.create_sheet(_sheet_title(section.title, taken))
        sheet.append(list(section.columns))
        for row in section.rows:
            sheet.append([_xlsx_cell(v) for v in row])
            counter.add()
    book.save(target)
    counter.done()


def xlsx_bytes(document: Document) -> bytes:
    """Return the XLSX workbook of a small document."""
    target = io.BytesIO()
    xlsx_write(document, target)
    return target.getvalue()


def sections_bounded(document: Document, limit: int) -> list[Section]:
    """Return the sections with their rows read into lists; ExportError, before anything is
    written, if they hold more than `limit` rows together."""
    if document.size is not None and document.size > limit:
        raise ExportError(too_many_rows(document.size, limit))
    bounded, total = [], 0
    for section in document.sections:
        rows = []
        for row in section.rows:
            total += 1
            if total > limit:
                raise ExportError(too_many_rows(None, limit))
            rows.append(tuple(row))
        bounded.append(replace(section, rows=rows, size=len(rows)))
    return bounded


def too_many_rows(size: int | None, limit: int) -> str:
    found = f"{size:,} rows" if size is not None else f"more than {limit:,} rows"
    return (
        f"A PDF holds at most {limit:,} rows and this export has {found}; "
        "export it as CSV (or JSON or XLSX) instead, or choose a shorter range or a coarser "
        "interval."
    )

"""A document as an HTTP response in any export format: CSV and JSON streamed as they are
written, XLSX through a temporary file, PDF bounded. The one way pages, APIs and
dashboards hand a document out: `document_export(document, format)`."""

from __future__ import annotations

import re
import tempfile

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from monitoring.exports import pdf, writers
from monitoring.exports.document import Document
from monitoring.exports.models import ExportFormat
from mysetlist.core.exceptions import ApplicationError

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def format_check(format: str) -> str:
    """Return the format if it is one an export is written in; ApplicationError if not."""
    if format not in ExportFormat.values:
        raise ApplicationError(
            f"Unknown format {format!r}; the formats are {', '.join(ExportFormat.values)}.",
            {"fields": {"format": ["Unknown format."]}},
        )
    return format


def filename_for(document: Document, format: str) -> str:
    """A file name from the document's title and time: `votes-by-hour-20261206-1200.csv`."""
    slug = re.sub(r"[^a-z0-9]+", "-", document.title.lower()).strip("-")[:60] or "export"
    return f"{slug}-{document.generated_at:%Y%m%d-%H%M}.{format}"


def document_bytes(document: Document, format: str) -> bytes:
    """Return a small document written whole in `format` (for files kept or attached);
    ApplicationError for an unknown format or a PDF too large."""
    format_check(format)
    if format == "pdf":
        try:
            return pdf.pdf_bytes(document)
        except writers.ExportError as exc:
            raise ApplicationError(str(exc), {"fields": {"format": [str(exc)]}}) from None
    if format == "xlsx":
        return writers.xlsx_bytes(document)
    chunks = writers.csv_chunks(document) if format == "csv" else writers.json_chunks(document)
    return "".join(chunks).encode()


def document_export(document: Document, format: str, *, filename: str | None = None):
    """Return an HTTP response holding `document` in `format` (csv, json, xlsx or pdf), as
    an attachment named `filename` (from the title and time if not given).

    CSV and JSON stream: the rows are read from the sections' iterables as the response is
    sent, never held whole. XLSX is written to a temporary file first (openpyxl's
    write-only mode) and streamed from it. A PDF is bounded (pdf.MAX_ROWS rows): above it,
    ApplicationError (a 400 through the API) saying to export CSV, before anything is sent.
    An unknown format is an ApplicationError too."""
    format_check(format)
    filename = filename or filename_for(document, format)
    disposition = f'attachment; filename="{filename}"'
    if format in ("csv", "json"):
        chunks = writers.csv_chunks(document) if format == "csv" else writers.json_chunks(document)
        response = StreamingHttpResponse(
            (chunk.encode() for chunk in chunks), content_type=CONTENT_TYPES[format]
        )
    elif format == "xlsx":
        spool = tempfile.TemporaryFile()
        writers.xlsx_write(document, spool)
        spool.seek(0)
        response = FileResponse(spool, content_type=CONTENT_TYPES[format])
    else:
        response = HttpResponse(document_bytes(document, "pdf"), content_type=CONTENT_TYPES[format])
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = "private, no-store"
    return response

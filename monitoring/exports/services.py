"""Writing exports: a job for an export too long to wait for (checked whole before it is
saved), and its run, which writes the file to the default storage and records its progress
as it goes."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from monitoring.exports import pdf, writers
from monitoring.exports.document import Document
from monitoring.exports.metrics import MetricSpec, metric_document
from monitoring.exports.models import ExportJob
from monitoring.exports.responses import document_bytes, filename_for, format_check
from mysetlist.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)
PROGRESS_SECONDS = 1.0  # the job's row is written at most this often while it runs


def _document(kind: str, spec: dict) -> Document:
    if kind == ExportJob.Kind.METRIC:
        return metric_document(MetricSpec.from_dict(spec))
    from monitoring.reports.selectors import report_document, report_get

    return report_document(report=report_get(report_id=spec["report_id"]))


def export_document_check(*, kind: str, spec: dict, format: str) -> Document:
    """Return the document an export would write, having checked all that can be checked
    before a row is read; ApplicationError otherwise. A PDF's rows are known only once read,
    so a PDF of a metric with more rows than it holds is refused here by their count."""
    format_check(format)
    document = _document(kind, spec)
    if format == "pdf" and document.size is not None and document.size > pdf.MAX_ROWS:
        message = writers.too_many_rows(document.size, pdf.MAX_ROWS)
        raise ApplicationError(message, {"fields": {"format": [message]}})
    return document


@transaction.atomic
def export_job_create(*, user, kind: str, spec: dict, format: str) -> ExportJob:
    """Queue an export for `user`: the document is checked first (ApplicationError and
    nothing saved if it cannot be written); a worker runs it once this commits."""
    from monitoring.exports.tasks import export_run as export_run_task

    if kind not in ExportJob.Kind.values:
        raise ApplicationError(f"Unknown export kind {kind!r}.", {"fields": {"kind": ["Unknown."]}})
    document = export_document_check(kind=kind, spec=spec, format=format)
    job = ExportJob(
        requested_by=user, kind=kind, spec=spec, format=format, rows_total=document.size
    )
    job.full_clean()
    job.save()
    transaction.on_commit(lambda: export_run_task.delay(job.pk))
    return job


class _Progress:
    """Records rows written on the job's row, at most every PROGRESS_SECONDS."""

    def __init__(self, job: ExportJob):
        self.job = job
        self.written_at = 0.0
        self.rows = 0

    def __call__(self, rows: int) -> None:
        self.rows = rows
        now = time.monotonic()
        if now - self.written_at < PROGRESS_SECONDS:
            return
        self.written_at = now
        total = self.job.rows_total
        progress = min(99, rows * 100 // total) if total else 0
        ExportJob.objects.filter(pk=self.job.pk).update(rows_done=rows, progress=progress)


def _write(document: Document, format: str, target, progress: _Progress) -> None:
    if format == "csv":
        for chunk in writers.csv_chunks(document, progress=progress):
            target.write(chunk.encode())
    elif format == "json":
        for chunk in writers.json_chunks(document, progress=progress):
            target.write(chunk.encode())
    elif format == "xlsx":
        writers.xlsx_write(document, target, progress=progress)
    else:
        target.write(document_bytes(document, "pdf"))
        progress(document.size or 0)


def export_job_run(*, job_id: int) -> ExportJob:
    """Run a queued export: write its file to the default storage, recording progress; a
    job that cannot be written ends failed with the reason, and no file. A job already
    running or over is left as it is."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
        if job is None or job.status != ExportJob.Status.QUEUED:
            return job or ExportJob.objects.get(pk=job_id)
        job.status, job.started_at = ExportJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    progress = _Progress(job)
    try:
        document = _document(job.kind, job.spec)
        with tempfile.TemporaryFile() as target:
            _write(document, job.format, target, progress)
            target.seek(0)
            name = filename_for(document, job.format)
            job.file.save(name, File(target), save=False)
    except (ApplicationError, writers.ExportError) as exc:
        message = exc.message if isinstance(exc, ApplicationError) else str(exc)
        return _job_end(job, status=ExportJob.Status.FAILED, error=message)
    except Exception:
        logger.exception("export %s failed", job.pk)
        _job_end(job, status=ExportJob.Status.FAILED, error="The export failed; try again.")
        raise
    return _job_end(job, status=ExportJob.Status.DONE, rows=progress.rows)


def _job_end(job: ExportJob, *, status: str, error: str = "", rows: int | None = None):
    job.status, job.error, job.finished_at = status, error, timezone.now()
    fields = ["status", "error", "finished_at", "file"]
    if status == ExportJob.Status.DONE:
        job.progress = 100
        fields.append("progress")
    if rows is not None:
        job.rows_done = rows
        fields.append("rows_done")
    job.save(update_fields=fields)
    return job


def export_jobs_prune(*, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Delete export jobs finished longer ago than `older_than`, and their files."""
    old = ExportJob.objects.filter(finished_at__lt=timezone.now() - older_than)
    count = 0
    for job in old:
        if job.file:
            job.file.delete(save=False)
        job.delete()
        count += 1
    return count

"""Reads of exports: a staff member's own export jobs."""

from django.db.models import QuerySet

from monitoring.exports.models import ExportJob
from mysetlist.core.exceptions import NotFoundError


def export_job_list(*, user) -> QuerySet[ExportJob]:
    """Return the user's export jobs, newest first."""
    return ExportJob.objects.filter(requested_by=user).order_by("-created_at", "-id")


def export_job_get(*, user, job_id: int) -> ExportJob:
    """Return one of the user's export jobs; NotFoundError for another's or none."""
    job = export_job_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFoundError(f"You have no export {job_id}.")
    return job

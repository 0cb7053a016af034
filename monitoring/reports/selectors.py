"""Reads of reports: the stored reports, each one's document, and who subscribes."""

from django.db.models import QuerySet

from monitoring.exports.document import Document, from_dict
from monitoring.reports.models import Report, ReportSubscription
from mysetlist.core.exceptions import NotFoundError


def report_list(*, kind: str | None = None) -> QuerySet[Report]:
    """Return the stored reports, newest period first, without their documents."""
    reports = Report.objects.defer("document")
    if kind:
        reports = reports.filter(kind=kind)
    return reports.order_by("-period_start", "kind")


def report_get(*, report_id: int) -> Report:
    """Return one report; NotFoundError if there is none."""
    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        raise NotFoundError(f"There is no report {report_id}.")
    return report


def report_document(*, report: Report) -> Document:
    """Return the stored document of a report."""
    return from_dict(report.document)


def report_kinds_subscribed(*, user) -> set[str]:
    """Return the kinds of report the user subscribes to."""
    return set(ReportSubscription.objects.filter(user=user).values_list("kind", flat=True))

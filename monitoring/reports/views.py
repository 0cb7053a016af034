"""Staff pages of reports: the list (with subscriptions and a metric export form), one
report with its charts, and its downloads in each format."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from monitoring.exports.metrics import EVENT_INTERVALS, metric_choices
from monitoring.exports.models import ExportFormat
from monitoring.exports.responses import document_export
from monitoring.reports import selectors, services
from monitoring.reports.models import ReportKind
from mysetlist.core.access import staff_required
from mysetlist.core.exceptions import ApplicationError, NotFoundError


def _report(report_id: int):
    try:
        return selectors.report_get(report_id=report_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from None


@staff_required
@require_GET
def report_list(request):
    kind = request.GET.get("kind") or None
    if kind not in (None, *ReportKind.values):
        kind = None
    context = {
        "reports": selectors.report_list(kind=kind)[:200],
        "kind": kind,
        "kinds": ReportKind.choices,
        "subscribed": selectors.report_kinds_subscribed(user=request.user),
        "metrics": metric_choices(),
        "intervals": EVENT_INTERVALS,
        "formats": ExportFormat.choices,
    }
    return render(request, "monitoring/reports/list.html", context)


@staff_required
@require_POST
def subscriptions_update(request):
    """Subscribe the signed-in staff member to the kinds checked, and no others."""
    chosen = set(request.POST.getlist("kinds"))
    for kind in ReportKind.values:
        if kind in chosen:
            services.report_subscribe(user=request.user, kind=kind)
        else:
            services.report_unsubscribe(user=request.user, kind=kind)
    messages.success(request, "Your report subscriptions are saved.")
    return redirect("reports:list")


@staff_required
@require_GET
def report_detail(request, report_id: int):
    report = _report(report_id)
    document = selectors.report_document(report=report)
    sections = [
        {"section": section, "figure_id": f"figure-{index}"}
        for index, section in enumerate(document.sections)
    ]
    context = {
        "report": report,
        "document": document,
        "sections": sections,
        "formats": ExportFormat.choices,
    }
    return render(request, "monitoring/reports/detail.html", context)


@staff_required
@require_GET
def report_export(request, report_id: int, format: str):
    report = _report(report_id)
    try:
        return document_export(selectors.report_document(report=report), format)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("reports:detail", report_id=report.pk)

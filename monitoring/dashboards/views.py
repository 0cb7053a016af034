"""Staff pages of dashboards: the list, and one dashboard drawn from its cached widgets,
which its page then keeps current over a websocket."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from monitoring.dashboards import selectors, services
from monitoring.dashboards.ranges import SPANS, Range
from mysetlist.core.access import staff_required
from mysetlist.core.exceptions import NotFoundError


@staff_required
@require_GET
def dashboard_list(request):
    return render(
        request, "monitoring/dashboard_list.html", {"dashboards": selectors.dashboard_list()}
    )


@staff_required
@require_GET
def dashboard_detail(request, slug: str):
    try:
        dashboard = selectors.dashboard_get(slug=slug)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    range_key = request.GET.get("range", "")
    if range_key and range_key not in SPANS:
        messages.error(
            request,
            f"There is no time range {range_key[:20]!r}; showing each widget's own range.",
        )
        range_key = ""
    widgets = services.dashboard_payloads(dashboard=dashboard, range_key=range_key, stale_ok=True)
    return render(
        request,
        "monitoring/dashboard_detail.html",
        {
            "dashboard": dashboard,
            "widgets": widgets,
            "range_key": range_key,
            "ranges": Range.choices,
            "dashboards": selectors.dashboard_list(),
            "export_formats": ("csv", "json", "xlsx", "pdf"),
            "socket_path": f"/ws/dashboards/{dashboard.pk}/{range_key + '/' if range_key else ''}",
        },
    )

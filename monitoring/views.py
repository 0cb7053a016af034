"""Staff pages of monitoring: the page an alert message's acknowledge link opens, and the
caches' figures with a button to clear them."""

import datetime

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from mysetlist.core import tiered_cache
from mysetlist.core.access import staff_required
from mysetlist.core.exceptions import ApplicationError

from . import figures, selectors, services


@staff_required
@require_http_methods(["GET", "POST"])
def alerts_acknowledge(request, token: str):
    """The alerts a message named, and a button to acknowledge those firing. A GET changes
    nothing (mail scanners follow links); the POST acknowledges as the signed-in staff user."""
    alert_ids = services.acknowledge_token_alert_ids(token)
    if alert_ids is None:
        return render(request, "monitoring/alerts_acknowledge.html", {"bad_link": True}, status=404)
    if request.method == "POST":
        for alert in selectors.alerts_by_ids(alert_ids=alert_ids):
            if alert.state != alert.State.FIRING:
                continue
            try:
                services.alert_acknowledge(alert=alert, by=request.user)
            except ApplicationError as exc:
                messages.warning(request, f"{alert.rule.name}: {exc.message}")
            else:
                messages.success(request, f"{alert.rule.name}: acknowledged.")
        return redirect(request.path)
    alerts = selectors.alerts_by_ids(alert_ids=alert_ids)
    context = {
        "alerts": alerts,
        "firing": any(a.state == a.State.FIRING for a in alerts),
    }
    return render(request, "monitoring/alerts_acknowledge.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def caches(request):
    """The tiered cache's reads in the last hour (every process) and in this one, per family;
    the POST clears every namespace in every process."""
    if request.method == "POST":
        services.caches_clear(by=request.user)
        messages.success(request, "Caches cleared on every process (each within a second).")
        return redirect("monitoring:caches")
    end = timezone.now()
    shared = figures.cache_counts(end - datetime.timedelta(hours=1), end)
    rows = [
        {"family": family, **counts, "reads": sum(counts.values()),
         "hit_rate": tiered_cache.hit_rate(counts["local_hit"] + counts["shared_hit"],
                                           sum(counts.values()))}
        for family, counts in sorted(shared.items())
    ]  # fmt: skip
    context = {"rows": rows, "process": tiered_cache.cache_stats()}
    return render(request, "monitoring/caches.html", context)

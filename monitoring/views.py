"""Staff pages of alerting: the page a message's acknowledge link opens."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from mysetlist.core.exceptions import ApplicationError

from . import selectors, services


@staff_member_required
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

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from mysetlist.core.access import staff_required
from mysetlist.core.exceptions import ApplicationError
from notifications import selectors
from notifications.content.links import link_allowed
from notifications.delivery.push import push_enabled
from notifications.forms import DashboardFilterForm, PreferenceForm, time_zone_names
from notifications.metrics import charts
from notifications.metrics import queries as metrics
from notifications.models import Channel
from notifications.preferences import preference_for, preference_update
from notifications.services import unsubscribe, unsubscribe_user
from notifications.tracking.engagement import delivery_click


@login_required
@require_GET
def inbox(request):
    notifications = list(selectors.inbox_list(user=request.user)[:100])
    items = selectors.inbox_items(notifications=notifications)
    return render(request, "notifications/inbox.html", {"items": items})


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    form = PreferenceForm.for_preference(
        preference_for(request.user), request.POST if request.method == "POST" else None
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                preference_update(user=request.user, **form.update())
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Your notification settings are saved.")
                return redirect("notifications:preferences")
        messages.error(request, "Nothing was saved: please fix what is marked below.")
    push_public_key = settings.VAPID_PUBLIC_KEY if push_enabled() else ""
    return render(
        request,
        "notifications/preferences.html",
        {
            "form": form,
            "grid": form.channel_grid(),
            "time_zone_names": time_zone_names(),
            "push_public_key": push_public_key,
        },
    )


# One-click unsubscribe (RFC 8058): a mail client POSTs with no cookie and no CSRF token; the
# token in the link is the credential. A person opening the link gets a page and a button.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token: str):
    user = unsubscribe_user(token)
    if user is None:
        raise Http404("This unsubscribe link is not valid.")
    if request.method == "POST":
        unsubscribe(user=user)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse("Unsubscribed.", content_type="text/plain")
        return render(request, "notifications/unsubscribed.html", {"done": True})
    return render(request, "notifications/unsubscribed.html", {"done": False})


SERVICE_WORKER = "js/push-sw.js"


# A service worker controls only pages under its own path unless the server allows more: served
# from here rather than /static/, with the header that lets it take the whole site, and checked
# with the server on every fetch, so browsers pick up a new version at once.
@require_GET
def service_worker(request):
    path = finders.find(SERVICE_WORKER)
    if path:
        with open(path, "rb") as file:
            script = file.read()
    elif staticfiles_storage.exists(SERVICE_WORKER):  # collected static files only
        with staticfiles_storage.open(SERVICE_WORKER) as file:
            script = file.read()
    else:
        raise Http404("No service worker.")
    response = HttpResponse(script, content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def click(request, token: str):
    """A tracked link from a notification: record the click, then go where it points.
    Only the notification's own link is followed, and only to where a notification may
    link (checked again: it may have been stored before links were), so this is no open
    redirect; anywhere else, the home page."""
    target = delivery_click(token=token)
    if target is None:
        raise Http404("This link is not valid.")
    return redirect(target if link_allowed(target) else "/")


@staff_required
@require_GET
def dashboard(request):
    form = DashboardFilterForm(request.GET)
    report = figure = breakdowns = None
    if form.is_valid():
        filters = form.cleaned_data
        report = metrics.delivery_metrics(
            date_from=filters["date_from"],
            date_to=filters["date_to"],
            channel=filters["channel"] or None,
            category=filters["category"] or None,
        )
        figure = charts.volume_figure(report.volume, labels=dict(Channel.choices))
        breakdowns = (
            ("All deliveries", (report.totals,)),
            ("By channel", report.by_channel),
            ("By category", report.by_category),
            ("By category and template version", report.by_template),
        )
    else:
        problems = [message for errors in form.errors.values() for message in errors]
        messages.error(request, "No metrics for these filters: " + " ".join(problems))
    return render(
        request,
        "notifications/dashboard.html",
        {
            "form": form,
            "report": report,
            "figure": figure,
            "breakdowns": breakdowns,
            "definitions": metrics.DEFINITIONS,
        },
    )

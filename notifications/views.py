from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .forms import PreferenceForm
from .services import preference_for, unsubscribe, unsubscribe_user


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    form = PreferenceForm(request.POST or None, instance=preference_for(request.user))
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your notification settings are saved.")
            return redirect("notifications:preferences")
        messages.error(request, "Nothing was saved: please fix what is marked below.")
    return render(request, "notifications/preferences.html", {"form": form})


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

"""Failed log-ins, counted per client address and per username (django-ratelimit)."""

import functools

from django.conf import settings
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited


def _username(group, request) -> str:
    return request.POST.get("username", "").strip().lower()


def _failures(request, *, group: str, increment: bool) -> list[dict]:
    keys = ["ip", _username] if _username(group, request) else ["ip"]
    usages = (
        get_usage(request, group=group, key=key, rate=settings.LOGIN_RATE, increment=increment)
        for key in keys
    )
    return [usage for usage in usages if usage is not None]


def failed_logins_limited(view, *, group: str):
    """Wrap a log-in view: once an address or a username has failed LOGIN_RATE times in the
    window, refuse its attempts (429, RATELIMIT_VIEW) until the window passes, the right
    password too, so guessing cannot go on from many addresses or at many accounts.

    Only failures count: a log-in that succeeds costs nothing.
    """

    @functools.wraps(view)
    def limited(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        usages = _failures(request, group=group, increment=False)
        if any(usage["count"] >= usage["limit"] for usage in usages):
            raise Ratelimited("Too many failed log-ins.")
        response = view(request, *args, **kwargs)
        # A log-in view redirects when it logs someone in and shows the form again when it
        # does not; who was logged in before (a fan, at the admin) makes no difference.
        if response.status_code != 302:
            _failures(request, group=group, increment=True)
        return response

    return limited

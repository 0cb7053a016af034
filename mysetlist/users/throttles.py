"""Log-in attempts, counted per client address and per username (django-ratelimit)."""

import functools

from django.conf import settings
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited


def _username(group, request) -> str:
    return request.POST.get("username", "").strip().lower()


def _attempt_counted(request, *, group: str) -> list[dict]:
    keys = ["ip", _username] if _username(group, request) else ["ip"]
    usages = (
        get_usage(request, group=group, key=key, rate=settings.LOGIN_RATE, increment=True)
        for key in keys
    )
    return [usage for usage in usages if usage is not None]


def logins_limited(view, *, group: str):
    """Wrap a log-in view: each attempt counts against its address and its username before
    the password is looked at, and once either has made LOGIN_RATE attempts in the window,
    the rest are refused (429, RATELIMIT_VIEW) until it passes, the right password too, so
    guessing cannot go on from many addresses or at many accounts.

    Counting first, with the cache's atomic increment, holds the limit however many attempts
    arrive at once; looking at the password first and counting the failures after let a
    burst of parallel guesses through before any was counted.
    """

    @functools.wraps(view)
    def limited(request, *args, **kwargs):
        if request.method == "POST" and any(
            usage["should_limit"] for usage in _attempt_counted(request, group=group)
        ):
            raise Ratelimited("Too many log-in attempts.")
        return view(request, *args, **kwargs)

    return limited

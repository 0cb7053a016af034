"""Request figures: every answer counted by route pattern (never the raw path, so a label
has as many values as there are routes), method and status class, and timed; and the same
added to the shared per-minute store that alert rules read."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from monitoring import instrumentation, live
from monitoring.quantiles import bucket_index

logger = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # a 404 the URL patterns did not resolve, or a middleware's answer
_STORE_REST_SECONDS = 5.0


def route_of(request) -> str:
    """Return the URL pattern that served `request` ("api/shows/<id:show_id>/votes"), or
    UNMATCHED."""
    match = getattr(request, "resolver_match", None)
    return f"/{match.route}" if match is not None and match.route is not None else UNMATCHED


def visitor_of(request, browser: str) -> str | None:
    """Return who made the request for the active-user count: the account when signed in,
    else the anonymous analytics id the browser sent (not one given it by this answer: a
    client that keeps no cookies would count once a request); None for neither."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    return f"d:{browser[:64]}" if browser else None


class RequestMetricsMiddleware:
    """Count and time every request below it. Static files (whitenoise, above it) and event
    capture under a WSGI server (which skips the middleware) are not counted."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.store_rests_until = 0.0

    def __call__(self, request):
        browser = request.COOKIES.get(settings.ANALYTICS_DISTINCT_ID_COOKIE, "")
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        self.record(request, response.status_code, seconds, browser=browser)
        return response

    def record(self, request, status: int, seconds: float, *, browser: str = "") -> None:
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        instrumentation.HTTP_REQUESTS.labels(route, method, f"{status // 100}xx").inc()
        instrumentation.HTTP_LATENCY.labels(route, method).observe(seconds)
        now = time.time()
        if now < self.store_rests_until:
            return
        counts = {"req": 1, f"lat:{bucket_index(seconds)}": 1}
        if status >= 500:
            counts["err"] = 1
        try:
            live.counts_add(counts, visitor=visitor_of(request, browser), at=now)
        except Exception:  # the figures must never cost a request its answer
            logger.warning("monitoring store unreachable; resting 5 s", exc_info=True)
            self.store_rests_until = now + _STORE_REST_SECONDS

import uuid

from django.conf import settings

from analytics.ingest.validation import is_bot
from analytics.services import ANONYMOUS_ID, track
from mysetlist.core.clients import client_ip

_SKIPPED_PREFIXES = ("/api/", "/admin/", "/static/", "/ws/")


def tracking_allowed(request) -> bool:
    """Do-Not-Track or a refused consent turns off tracking of this browser."""
    return (
        request.META.get("HTTP_DNT") != "1"
        and request.COOKIES.get(settings.ANALYTICS_CONSENT_COOKIE) != "denied"
    )


class PageViewMiddleware:
    """Give each browser an anonymous distinct id and record the pages it is served.

    The id lives in a first-party cookie the tracker script reads too, so server and
    browser events of one visitor share it; logging in links it to the account.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cookie = settings.ANALYTICS_DISTINCT_ID_COOKIE
        distinct_id = request.COOKIES.get(cookie)
        if not distinct_id or not ANONYMOUS_ID.match(distinct_id):
            distinct_id = uuid.uuid4().hex
            request.COOKIES[cookie] = distinct_id  # so a log-in during this request links it
        response = self.get_response(request)
        if not tracking_allowed(request):
            return response
        if cookie not in response.cookies and request.COOKIES.get(cookie) == distinct_id:
            response.set_cookie(
                cookie, distinct_id, max_age=60 * 60 * 24 * 365, samesite="Lax",
                secure=settings.ANALYTICS_COOKIE_SECURE or request.is_secure(),
            )  # fmt: skip
        if self._is_page_view(request, response):
            track(
                event="$pageview",
                user=request.user,
                distinct_id=distinct_id,
                properties={
                    "path": request.path,
                    "referrer": request.META.get("HTTP_REFERER", ""),
                    # What the page was about, when its view says (see page_about).
                    **getattr(request, "analytics_properties", {}),
                },
                context={"user_agent": request.META.get("HTTP_USER_AGENT", "")},
                ip=client_ip(request),
            )
        return response

    @staticmethod
    def _is_page_view(request, response) -> bool:
        return (
            request.method == "GET"
            and response.status_code == 200
            and response.get("Content-Type", "").startswith("text/html")
            and not request.path.startswith(_SKIPPED_PREFIXES)
            and not is_bot(request.META.get("HTTP_USER_AGENT"))
        )


def page_about(request, **properties) -> None:
    """Let a page view say what it shows (artist_id, show_id): trending reads it."""
    request.analytics_properties = properties

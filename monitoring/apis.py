import hmac

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, permissions
from rest_framework.views import APIView

from monitoring import instrumentation
from monitoring.collectors import LiveFiguresCollector
from mysetlist.core.schema import errors

SCRAPER = "metrics-token"


class MetricsTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <METRICS_TOKEN>`, for Prometheus: no account behind it."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        expected = settings.METRICS_TOKEN.encode()
        if len(header) != 2 or not expected or not hmac.compare_digest(header[1], expected):
            raise exceptions.AuthenticationFailed("Invalid metrics token.")
        return AnonymousUser(), SCRAPER

    def authenticate_header(self, request):
        return 'Bearer realm="metrics"'


class MetricsTokenScheme(OpenApiAuthenticationExtension):
    target_class = MetricsTokenAuthentication
    name = "metricsToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The METRICS_TOKEN setting."}


class MetricsAccess(permissions.BasePermission):
    """The scraper's token, or staff."""

    def has_permission(self, request, view):
        return request.auth == SCRAPER or bool(request.user and request.user.is_staff)


class MetricsApi(APIView):
    authentication_classes = [
        MetricsTokenAuthentication,
        authentication.TokenAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [MetricsAccess]

    @extend_schema(
        summary="Live figures in Prometheus's text format (the scraper's token, or staff)",
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="Prometheus text exposition format 0.0.4."
            ),
            **errors(401, 403),
        },
    )
    def get(self, request):
        body = instrumentation.exposition(extra=[LiveFiguresCollector()])
        return HttpResponse(body, content_type=instrumentation.CONTENT_TYPE_LATEST)

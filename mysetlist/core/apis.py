import time

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from .health import health_check
from .schema import errors
from .status import status_counts, status_live

_STARTED = time.time()


class HealthApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Readiness: database, cache, channel layer, broker, and the apps' own checks",
        description=(
            "Each check gives `ok` and `ms`; a check marked `critical: false` (Celery workers, "
            "queues, ingestion lag) is reported without making the whole fail."
        ),
        responses={
            200: inline_serializer("Health", {"ok": serializers.BooleanField()}),
            503: inline_serializer("HealthFailed", {"ok": serializers.BooleanField()}),
        },
    )
    def get(self, request):
        result = health_check()
        return Response(result, status=200 if result["ok"] else 503)


class StatusApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Version, uptime, backends, platform counts and live figures (staff only)",
        responses={
            200: inline_serializer(
                "Status",
                {
                    "version": serializers.CharField(),
                    "uptime_seconds": serializers.IntegerField(),
                    "database": serializers.CharField(),
                    "channel_layer": serializers.CharField(),
                    "broker": serializers.CharField(),
                    "counts": serializers.DictField(child=serializers.IntegerField()),
                    "live": serializers.DictField(
                        child=serializers.FloatField(allow_null=True),
                        help_text="Live figures over the last five minutes, by catalog key.",
                    ),
                },
            ),
            **errors(401, 403),
        },
    )
    def get(self, request):
        return Response(
            {
                "version": settings.MYSETLIST_VERSION,
                "uptime_seconds": round(time.time() - _STARTED),
                "database": connection.vendor,
                "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1],
                "broker": settings.CELERY_BROKER_URL.split("://", 1)[0],
                "counts": status_counts(),
                "live": status_live(),
            }
        )

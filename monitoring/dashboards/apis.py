"""The staff API of dashboards: one dashboard's widgets as JSON, or exported as a file."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.dashboards import selectors, services
from monitoring.dashboards.ranges import SPANS
from monitoring.exports.apis import FILE_RESPONSES, _ExportApi
from monitoring.exports.responses import document_export, format_check
from mysetlist.core.schema import errors


class DashboardFilterSerializer(serializers.Serializer):
    range = serializers.CharField(
        required=False, default="", allow_blank=True,
        help_text=f"one of {', '.join(SPANS)}; empty: each widget's own",
    )  # fmt: skip

    def validate_range(self, value: str) -> str:
        if value and value not in SPANS:
            raise serializers.ValidationError(f"Use one of {', '.join(SPANS)}.")
        return value


class DashboardDetailApi(APIView):
    """A dashboard's widgets as its page draws them (cached as the page's are)."""

    permission_classes = [IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        title = serializers.CharField()
        widgets = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        summary="A dashboard's widgets (staff)",
        parameters=[DashboardFilterSerializer],
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, slug: str):
        filters = DashboardFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        dashboard = selectors.dashboard_get(slug=slug)
        widgets = services.dashboard_payloads(
            dashboard=dashboard, range_key=filters.validated_data["range"], stale_ok=True
        )
        return Response(
            self.OutputSerializer(
                {"slug": dashboard.slug, "title": dashboard.title, "widgets": widgets}
            ).data
        )


class ExportFilterSerializer(DashboardFilterSerializer):
    format = serializers.CharField(default="csv", help_text="csv, json, xlsx or pdf")


class DashboardExportApi(_ExportApi):
    """A dashboard as a file: each widget a section with its points or rows (and its chart
    in a PDF)."""

    @extend_schema(
        summary="Export a dashboard (staff)",
        parameters=[ExportFilterSerializer],
        responses={**FILE_RESPONSES, **errors(400, 401, 403, 404)},
    )
    def get(self, request, slug: str):
        filters = ExportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        format_check(data["format"])  # before the dashboard is computed
        dashboard = selectors.dashboard_get(slug=slug)
        document = services.dashboard_document(dashboard=dashboard, range_key=data["range"])
        return document_export(document, data["format"])

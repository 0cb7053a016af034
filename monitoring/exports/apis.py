"""The staff API of exports: a metric over a range downloaded at once (streamed), or an
export job started, watched and downloaded when it is done."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.exports import selectors, services
from monitoring.exports.metrics import EVENT_INTERVALS, MetricSpec
from monitoring.exports.models import ExportJob
from monitoring.exports.responses import CONTENT_TYPES, document_export
from mysetlist.core.exceptions import ConflictError
from mysetlist.core.schema import errors

FILE_RESPONSES = {
    (200, content_type.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY)
    for content_type in CONTENT_TYPES.values()
}


class _ExportApi(APIView):
    permission_classes = [IsAdminUser]

    def perform_content_negotiation(self, request, force=False):
        # `format` names the export's format here, not a renderer: errors stay JSON.
        return super().perform_content_negotiation(request, force=True)


class MetricFilterSerializer(serializers.Serializer):
    metric = serializers.CharField(
        max_length=120,
        help_text="a figure's key (votes_per_minute, http_error_rate...) or event:<name>",
    )
    start = serializers.DateTimeField(help_text="ISO 8601 with a time zone; inclusive")
    end = serializers.DateTimeField(help_text="ISO 8601 with a time zone; exclusive")
    interval = serializers.ChoiceField(choices=EVENT_INTERVALS, default="hour")
    format = serializers.CharField(default="csv", help_text="csv, json, xlsx or pdf")


def _spec(data: dict) -> MetricSpec:
    return MetricSpec(
        metric=data["metric"], start=data["start"], end=data["end"], interval=data["interval"]
    )


class ExportMetricApi(_ExportApi):
    """One metric over a range at an interval, as a file at once (CSV and JSON streamed)."""

    @extend_schema(
        summary="Export a metric over a range (staff)",
        parameters=[MetricFilterSerializer],
        responses={**FILE_RESPONSES, **errors(400, 401, 403)},
    )
    def get(self, request):
        filters = MetricFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        document = services.export_document_check(
            kind=ExportJob.Kind.METRIC, spec=_spec(data).as_dict(), format=data["format"]
        )
        return document_export(document, data["format"])


class JobOutputSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "kind", "spec", "format", "status", "progress", "rows_done", "rows_total",
            "error", "created_at", "started_at", "finished_at", "download_url",
        ]  # fmt: skip

    def get_download_url(self, job) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        from django.urls import reverse

        return reverse("exports-api:job-download", args=[job.pk])


class JobInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportJob.Kind.choices, default=ExportJob.Kind.METRIC)
    format = serializers.CharField(default="csv", help_text="csv, json, xlsx or pdf")
    metric = serializers.CharField(max_length=120, required=False)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    interval = serializers.ChoiceField(choices=EVENT_INTERVALS, default="hour")
    report_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def validate(self, data):
        if data["kind"] == ExportJob.Kind.METRIC:
            missing = [f for f in ("metric", "start", "end") if f not in data]
            if missing:
                raise serializers.ValidationError({f: ["Required for a metric."] for f in missing})
        elif "report_id" not in data:
            raise serializers.ValidationError({"report_id": ["Required for a report."]})
        return data


class ExportJobCreateApi(_ExportApi):
    """Start an export in the background; its status says how far it has got."""

    @extend_schema(
        summary="Start an export job (staff)",
        request=JobInputSerializer,
        responses={202: JobOutputSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request):
        data = JobInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["kind"] == ExportJob.Kind.METRIC:
            spec = _spec(values).as_dict()
        else:
            spec = {"report_id": values["report_id"]}
        job = services.export_job_create(
            user=request.user, kind=values["kind"], spec=spec, format=values["format"]
        )
        job.refresh_from_db()
        return Response(JobOutputSerializer(job).data, status=202)


class ExportJobDetailApi(_ExportApi):
    """One of your export jobs: its status and progress, and its link once done."""

    @extend_schema(
        summary="An export job's status (staff, your own)",
        responses={200: JobOutputSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, job_id: int):
        job = selectors.export_job_get(user=request.user, job_id=job_id)
        return Response(JobOutputSerializer(job).data)


class ExportJobDownloadApi(_ExportApi):
    """The file of one of your export jobs, once it is done."""

    @extend_schema(
        summary="Download an export job's file (staff, your own)",
        parameters=[OpenApiParameter("job_id", int, OpenApiParameter.PATH)],
        responses={**FILE_RESPONSES, **errors(401, 403, 404, 409)},
    )
    def get(self, request, job_id: int):
        job = selectors.export_job_get(user=request.user, job_id=job_id)
        if job.status != ExportJob.Status.DONE or not job.file:
            raise ConflictError(
                f"Export {job.pk} is {job.get_status_display().lower()}, not done.",
                {"status": job.status},
            )
        name = job.file.name.rsplit("/", 1)[-1]
        return FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=name,
            content_type=CONTENT_TYPES[job.format],
        )

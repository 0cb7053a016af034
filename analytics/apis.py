import zlib

import orjson
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from mysetlist.core.clients import client_ip
from mysetlist.core.schema import errors

from . import services
from .authentication import IngestKeyAuthentication, IngestKeyRateThrottle
from .validation import MAX_BODY_BYTES, BatchError


class HasIngestKey(permissions.BasePermission):
    message = "Send an ingest key: Authorization: Bearer <key>."

    def has_permission(self, request, view):
        return request.auth is not None


def _read_body(request) -> bytes:
    """Return the request body, unpacking gzip; refuse more than MAX_BODY_BYTES either way."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise BatchError("Content-Length is not a number.") from exc
    if declared > MAX_BODY_BYTES:
        raise BatchError(f"The body is larger than {MAX_BODY_BYTES} bytes.", status=413)
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BatchError(f"The body is larger than {MAX_BODY_BYTES} bytes.", status=413)
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, MAX_BODY_BYTES + 1)
        except zlib.error as exc:
            raise BatchError("The body is not valid gzip.") from exc
        if len(raw) > MAX_BODY_BYTES or inflater.unconsumed_tail:
            raise BatchError(f"Unpacked, the body is larger than {MAX_BODY_BYTES} bytes.", 413)
    return raw


class EventIngestApi(APIView):
    authentication_classes = [IngestKeyAuthentication]
    permission_classes = [HasIngestKey]
    throttle_classes = [IngestKeyRateThrottle]
    parser_classes = []  # the body is read and parsed here, within the size limit

    class ErrorSerializer(serializers.Serializer):
        index = serializers.IntegerField()
        message_id = serializers.CharField(allow_null=True)
        message = serializers.CharField()

        class Meta:
            ref_name = "EventIngestError"

    class OutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField(help_text="Events stored now.")
        duplicates = serializers.IntegerField(help_text="Message ids already stored.")
        filtered = serializers.IntegerField(help_text="Events from known bots, dropped.")
        errors = serializers.ListField(child=serializers.DictField())

        class Meta:
            ref_name = "EventIngestOutput"

    @extend_schema(
        summary="Send one event or a batch of up to 1,000 events (1 MB)",
        description=(
            "Segment-style events: `event`, `distinct_id`, `timestamp`, `sent_at`, "
            "`properties`, `context`, `message_id`. A body is one event or "
            '`{"batch": [...], "sent_at": ...}`. A message id already stored is not stored '
            "again (for at least 30 days). Bad events are listed in `errors` by index; the "
            "others are kept. 400 when no event could be kept."
        ),
        request=inline_serializer("IngestBody", {"batch": serializers.ListField()}),
        responses={
            200: OutputSerializer,
            413: OpenApiResponse(description="More than 1 MB or 1,000 events."),
            **errors(400, 401, 403, 429),
        },
    )
    def post(self, request):
        received_at = timezone.now()
        try:
            raw = _read_body(request)
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise BatchError(f"The body is not valid JSON: {exc}.") from exc
            result = services.events_ingest(
                body=body,
                received_at=received_at,
                source=request.auth,
                user_agent=request.META.get("HTTP_USER_AGENT"),
                ip=client_ip(request),
            )
        except BatchError as error:
            return Response({"message": error.message, "extra": {}}, status=error.status)
        errors_out = [
            {"index": r.index, "message_id": r.message_id, "message": r.message}
            for r in result.errors
        ]
        if errors_out and not (result.accepted or result.duplicates or result.bots):
            return Response(
                {"message": "No event could be kept.", "extra": {"errors": errors_out}},
                status=400,
            )
        return Response(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "filtered": result.bots,
                "errors": errors_out,
            }
        )

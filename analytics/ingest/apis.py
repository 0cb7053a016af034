from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.ingest.authentication import IngestKeyAuthentication, IngestKeyRateThrottle
from analytics.ingest.capture import ingest_http, read_body
from analytics.ingest.validation import MAX_BATCH_EVENTS, MAX_NAME, BatchError
from analytics.lifecycle.erasure import user_events
from mysetlist.core.clients import client_ip
from mysetlist.core.pagination import LimitOffsetPagination, get_paginated_response
from mysetlist.core.schema import error, errors


class HasIngestKey(permissions.BasePermission):
    message = "Send an ingest key: Authorization: Bearer <key>."

    def has_permission(self, request, view):
        return request.auth is not None


class IngestEventSerializer(serializers.Serializer):
    """An analytics event, as its sender writes it (the schema of the request only)."""

    event = serializers.CharField(max_length=MAX_NAME)
    distinct_id = serializers.CharField(max_length=MAX_NAME)
    timestamp = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When it happened; default: when received."
    )
    sent_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When sent, by the same clock: corrects skew."
    )
    properties = serializers.DictField(required=False, allow_null=True)
    context = serializers.DictField(required=False, allow_null=True)
    message_id = serializers.CharField(
        max_length=MAX_NAME, required=False, allow_null=True,
        help_text="Sent again, an event with the same id is not stored twice.",
    )  # fmt: skip

    class Meta:
        ref_name = "IngestEvent"


class IngestBatchSerializer(serializers.Serializer):
    batch = serializers.ListField(
        child=IngestEventSerializer(), min_length=1, max_length=MAX_BATCH_EVENTS
    )
    sent_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="For the events that give none."
    )

    class Meta:
        ref_name = "IngestBatch"


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
        request={
            "application/json": PolymorphicProxySerializer(
                component_name="IngestBody",
                serializers=[IngestEventSerializer, IngestBatchSerializer],
                resource_type_field_name=None,
            )
        },
        responses={
            200: OutputSerializer,
            413: error("More than 1 MB or 1,000 events."),
            503: error("Not stored; send them again."),
            **errors(400, 401, 403, 429),
        },
    )
    def post(self, request):
        try:
            raw = read_body(request.META, request.read)
        except BatchError as error:
            return Response({"message": error.message, "extra": {}}, status=error.status)
        answer = ingest_http(
            raw=raw,
            content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
            source=request.auth,
            user_agent=request.META.get("HTTP_USER_AGENT"),
            ip=client_ip(request),
        )
        return Response(answer.body, status=answer.status)


class MyEventListApi(APIView):
    """Everything recorded about the logged-in user, oldest first: their data export."""

    permission_classes = [permissions.IsAuthenticated]
    pagination_class = LimitOffsetPagination

    class OutputSerializer(serializers.Serializer):
        event = serializers.CharField()
        distinct_id = serializers.CharField()
        timestamp = serializers.DateTimeField()
        properties = serializers.DictField()
        context = serializers.DictField()
        message_id = serializers.CharField()

        class Meta:
            ref_name = "MyEventListOutput"

    @extend_schema(
        summary="Export your own analytics events",
        responses={200: OutputSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request):
        return get_paginated_response(
            serializer_class=self.OutputSerializer,
            queryset=user_events(user=request.user),
            request=request,
            view=self,
        )

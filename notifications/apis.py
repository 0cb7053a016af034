from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from timezone_field.rest_framework import TimeZoneSerializerField

from mysetlist.core.ids import IdField
from mysetlist.core.pagination import LimitOffsetPagination
from mysetlist.core.schema import errors
from mysetlist.core.throttling import ScopedRateThrottle
from notifications import inbox, preferences, selectors
from notifications.delivery import push
from notifications.models import Category, Channel, NotificationPreference
from notifications.sending import requests as sending


class TimeZoneNameField(TimeZoneSerializerField):
    """An IANA time zone name, such as "Europe/Berlin". zoneinfo reads any other string as a
    path under its database, so "Europe", "../UTC" or a NUL byte raised errors other than
    not-found (a 500); "localtime" is the machine's own zone, not a name."""

    def to_internal_value(self, data):
        names = self.tz_backend.base_tzstrs
        if not isinstance(data, str) or data not in names or data == "localtime":
            self.fail("invalid")
        return super().to_internal_value(data)


class InboxItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.ChoiceField(choices=Category.choices)
    text = serializers.CharField()
    url = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class InboxListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = LimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InboxListFilter"

        unread = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        summary="Your in-app notifications, newest first",
        parameters=[FilterSerializer],
        responses={200: InboxItemOutputSerializer(many=True), **errors(400, 401)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        notifications = selectors.inbox_list(
            user=request.user, unread_only=filters.validated_data["unread"]
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(notifications, request, view=self)
        return paginator.get_paginated_response(
            InboxItemOutputSerializer(selectors.inbox_items(notifications=page), many=True).data
        )


class UnreadCountOutputSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class InboxCountApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UnreadCountOutputSerializer, **errors(401)})
    def get(self, request):
        return Response({"unread": selectors.inbox_unread_count(user=request.user)})


class NotificationReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: UnreadCountOutputSerializer, **errors(401, 404)})
    def post(self, request, notification_id):
        inbox.notification_read(user=request.user, notification_id=notification_id)
        return Response({"unread": selectors.inbox_unread_count(user=request.user)})


class NotificationReadAllApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: UnreadCountOutputSerializer, **errors(401)})
    def post(self, request):
        inbox.notifications_read_all(user=request.user)
        return Response({"unread": selectors.inbox_unread_count(user=request.user)})


class NotificationDismissApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: UnreadCountOutputSerializer, **errors(401, 404)})
    def post(self, request, notification_id):
        inbox.notification_dismiss(user=request.user, notification_id=notification_id)
        return Response({"unread": selectors.inbox_unread_count(user=request.user)})


@extend_schema_field(
    {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "22:00"}
)
class ClockTimeField(serializers.TimeField):
    """A time of day as "HH:MM", read and written alike: quiet hours have no seconds."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


class QuietHoursSerializer(serializers.Serializer):
    class Meta:
        ref_name = "QuietHours"

    start = ClockTimeField()
    end = ClockTimeField()


def _channels_field(**kwargs):
    return serializers.DictField(
        child=serializers.DictField(child=serializers.BooleanField()),
        help_text="{category: {channel: on}}; categories: "
        + ", ".join(Category.values)
        + "; channels: "
        + ", ".join(Channel.values),
        **kwargs,
    )


class PreferenceOutputSerializer(serializers.Serializer):
    channels = _channels_field()
    timezone = serializers.CharField()
    quiet_hours = QuietHoursSerializer(allow_null=True)
    daily_cap = serializers.IntegerField(allow_null=True)
    digest = serializers.ChoiceField(choices=NotificationPreference.Digest.choices)
    digest_hour = serializers.IntegerField()
    unsubscribed_all = serializers.BooleanField()
    sms_number = serializers.CharField(allow_blank=True)
    push_available = serializers.BooleanField(help_text="Whether this site offers web push.")
    push_subscriptions = serializers.IntegerField()


def _preference_output(user) -> dict:
    preference = preferences.preference_for(user)
    quiet = None
    if preference.quiet_start is not None and preference.quiet_end is not None:
        quiet = {"start": preference.quiet_start, "end": preference.quiet_end}
    data = {
        "channels": preferences.enabled_pairs(preference),
        "timezone": str(user.timezone),
        "quiet_hours": quiet,
        "daily_cap": preference.daily_cap,
        "digest": preference.digest,
        "digest_hour": preference.digest_hour,
        "unsubscribed_all": preference.unsubscribed_all,
        "sms_number": preference.sms_number,
        "push_available": push.push_enabled(),
        "push_subscriptions": user.push_subscriptions.count(),
    }
    return PreferenceOutputSerializer(data).data


class PreferenceApi(APIView):
    """Read and change your own notification preferences. One view for the two methods of
    one URL; each method is one operation."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PreferenceUpdateInput"

        channels = _channels_field(required=False)
        timezone = TimeZoneNameField(required=False, use_pytz=False)
        quiet_hours = QuietHoursSerializer(required=False, allow_null=True)
        daily_cap = serializers.IntegerField(
            required=False, allow_null=True, min_value=0, max_value=1000
        )
        digest = serializers.ChoiceField(
            choices=NotificationPreference.Digest.choices, required=False
        )
        digest_hour = serializers.IntegerField(required=False, min_value=0, max_value=23)
        unsubscribed_all = serializers.BooleanField(required=False)
        sms_number = serializers.RegexField(
            preferences.SMS_NUMBER_PATTERN, required=False, allow_blank=True,
            error_messages={"invalid": preferences.SMS_NUMBER_RULE},
        )  # fmt: skip

    @extend_schema(responses={200: PreferenceOutputSerializer, **errors(401)})
    def get(self, request):
        return Response(_preference_output(request.user))

    @extend_schema(
        summary="Change the fields given; the others keep their values",
        request=InputSerializer,
        responses={200: PreferenceOutputSerializer, **errors(400, 401)},
    )
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "quiet_hours" in data:
            quiet = data.pop("quiet_hours") or {}
            data["quiet_start"], data["quiet_end"] = quiet.get("start"), quiet.get("end")
        preferences.preference_update(user=request.user, **data)
        return Response(_preference_output(request.user))


class PushSubscribeApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "push_subscribe"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PushSubscribeInput"

        class KeysSerializer(serializers.Serializer):
            class Meta:
                ref_name = "PushSubscriptionKeys"

            p256dh = serializers.CharField(max_length=200)
            auth = serializers.CharField(max_length=100)

        endpoint = serializers.URLField(max_length=1000)
        keys = KeysSerializer()

    class DeleteSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PushUnsubscribeInput"

        endpoint = serializers.URLField(max_length=1000)

    @extend_schema(
        summary="Subscribe this browser to web push (the PushSubscription's JSON)",
        request=InputSerializer,
        responses={201: OpenApiResponse(description="Subscribed."), **errors(400, 401, 429)},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        push.push_subscribe(
            user=request.user,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
        )
        return Response({"subscribed": True}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Unsubscribe a browser from web push",
        request=DeleteSerializer,
        responses={204: None, **errors(400, 401, 404, 429)},
    )
    def delete(self, request):
        serializer = self.DeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not push.push_unsubscribe(
            user=request.user, endpoint=serializer.validated_data["endpoint"]
        ):
            return Response(
                {"message": "No such subscription of yours.", "extra": {}},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationSendApi(APIView):
    permission_classes = [IsAdminUser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "notifications_send"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "NotificationSendInput"

        category = serializers.ChoiceField(choices=Category.choices)
        key = serializers.RegexField(
            r"^[A-Za-z0-9_.:-]{1,150}$",
            help_text="Names this send: the same key again tells nobody twice.",
            error_messages={"invalid": "1 to 150 letters, digits or _ . : -"},
        )
        context = serializers.DictField(
            required=False, default=dict, help_text="What the templates may use."
        )
        user_ids = serializers.ListField(child=IdField(), required=False, allow_empty=False)
        artist_id = IdField(required=False, help_text="Send to this artist's followers.")

    @extend_schema(
        summary="Send a notification to users or an artist's followers (staff)",
        request=InputSerializer,
        responses={
            202: OpenApiResponse(description="Accepted: workers send it."),
            **errors(400, 401, 403, 404, 429),
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sending.notification_send_schedule(**serializer.validated_data)
        return Response({"accepted": True}, status=status.HTTP_202_ACCEPTED)

"""The staff API of alerting: rules, silences and alerts, and acknowledging one."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring import selectors, services
from monitoring.models import (
    Alert,
    AlertChannel,
    AlertEvent,
    AlertRule,
    Detection,
    Operator,
    Severity,
)
from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.schema import errors
from mysetlist.users.models import User


class RuleOutputSerializer(serializers.ModelSerializer):
    subscribers = serializers.SerializerMethodField()

    class Meta:
        model = AlertRule
        fields = [
            "id", "name", "description", "metric", "operator", "threshold", "change",
            "window_seconds", "for_seconds", "keep_firing_for_seconds", "severity", "channels",
            "subscribers", "repeat_seconds", "group_key", "send_resolved", "resolve_message",
            "enabled", "last_evaluated_at", "last_value", "created_at", "updated_at",
            "detection", "sensitivity",
        ]  # fmt: skip

    def get_subscribers(self, rule) -> list[int]:
        return sorted(u.pk for u in rule.subscribers.all())


class RuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    metric = serializers.CharField(max_length=100)
    operator = serializers.ChoiceField(choices=Operator.choices)
    threshold = serializers.FloatField()
    change = serializers.BooleanField(required=False)
    window_seconds = serializers.IntegerField(required=False, min_value=0)
    for_seconds = serializers.IntegerField(required=False, min_value=0)
    keep_firing_for_seconds = serializers.IntegerField(required=False, min_value=0)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=AlertChannel.choices), required=False
    )
    subscribers = serializers.ListField(child=serializers.IntegerField(), required=False)
    repeat_seconds = serializers.IntegerField(required=False, min_value=0)
    group_key = serializers.SlugField(max_length=100, required=False, allow_blank=True)
    send_resolved = serializers.BooleanField(required=False)
    resolve_message = serializers.CharField(required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    detection = serializers.ChoiceField(choices=Detection.choices, required=False)
    sensitivity = serializers.FloatField(required=False, min_value=1.0)

    def validate_subscribers(self, ids):
        users = list(User.objects.filter(pk__in=ids))
        if missing := sorted(set(ids) - {u.pk for u in users}):
            raise serializers.ValidationError(f"No such users: {', '.join(map(str, missing))}.")
        return users


def _rule_data(rule: AlertRule) -> dict:
    return RuleOutputSerializer(selectors.rule_get(rule_id=rule.pk)).data


class RuleListApi(APIView):
    """Every alert rule (staff); POST creates one."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses={200: RuleOutputSerializer(many=True), **errors(403)})
    def get(self, request):
        return Response(RuleOutputSerializer(selectors.rule_list(), many=True).data)

    @extend_schema(
        request=RuleInputSerializer, responses={201: RuleOutputSerializer, **errors(400, 403)}
    )
    def post(self, request):
        data = RuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.rule_create(**data.validated_data)
        return Response(_rule_data(rule), status=201)


class RuleDetailApi(APIView):
    """One alert rule (staff); PATCH changes the fields given."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses={200: RuleOutputSerializer, **errors(403, 404)})
    def get(self, request, rule_id: int):
        return Response(RuleOutputSerializer(selectors.rule_get(rule_id=rule_id)).data)

    @extend_schema(
        request=RuleInputSerializer, responses={200: RuleOutputSerializer, **errors(400, 403, 404)}
    )
    def patch(self, request, rule_id: int):
        rule = selectors.rule_get(rule_id=rule_id)
        data = RuleInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.rule_update(rule=rule, **data.validated_data)
        return Response(_rule_data(rule))


class SilenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.IntegerField(source="rule_id", allow_null=True)
    group_key = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    comment = serializers.CharField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)


class SilenceListApi(APIView):
    """The silences (staff), newest first; POST creates one, matching a rule or a group."""

    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer):
        rule = serializers.IntegerField(required=False, allow_null=True)
        group_key = serializers.SlugField(max_length=100, required=False, allow_blank=True)
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        comment = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(responses={200: SilenceOutputSerializer(many=True), **errors(403)})
    def get(self, request):
        return Response(SilenceOutputSerializer(selectors.silence_list(), many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: SilenceOutputSerializer, **errors(400, 403)}
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        rule_id = fields.pop("rule", None)
        rule = None
        if rule_id is not None:
            rule = AlertRule.objects.filter(pk=rule_id).first()
            if rule is None:
                raise ApplicationError(
                    f"There is no alert rule {rule_id}.", {"fields": {"rule": ["unknown"]}}
                )
        silence = services.silence_create(rule=rule, by=request.user, **fields)
        return Response(SilenceOutputSerializer(silence).data, status=201)


class SilenceEndApi(APIView):
    """End a silence now (staff)."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={200: SilenceOutputSerializer, **errors(403, 404)})
    def post(self, request, silence_id: int):
        silence = services.silence_end(silence=selectors.silence_get(silence_id=silence_id))
        return Response(SilenceOutputSerializer(silence).data)


class AlertOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    severity = serializers.CharField(source="rule.severity")
    state = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    silenced = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    fired_at = serializers.DateTimeField(allow_null=True)
    last_sent_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.IntegerField(source="acknowledged_by_id", allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class AlertEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertEvent
        fields = ["kind", "at", "value", "silenced", "send", "notified_at", "by"]


class AlertDetailSerializer(AlertOutputSerializer):
    events = AlertEventSerializer(many=True)


class AlertListApi(APIView):
    """The alerts (staff), newest first; `?state=firing&state=pending` and `?rule=` filter."""

    permission_classes = [IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        state = serializers.ListField(
            child=serializers.ChoiceField(choices=Alert.State.choices), required=False
        )
        rule = serializers.IntegerField(required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: AlertOutputSerializer(many=True), **errors(400, 403)},
    )
    def get(self, request):
        given = {"state": request.query_params.getlist("state")}
        if "rule" in request.query_params:
            given["rule"] = request.query_params["rule"]
        filters = self.FilterSerializer(data=given)
        filters.is_valid(raise_exception=True)
        alerts = selectors.alert_list(
            states=filters.validated_data.get("state"),
            rule_id=filters.validated_data.get("rule"),
        )[:500]
        return Response(AlertOutputSerializer(alerts, many=True).data)


class AlertDetailApi(APIView):
    """One alert and its history (staff)."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses={200: AlertDetailSerializer, **errors(403, 404)})
    def get(self, request, alert_id: int):
        alert = selectors.alert_get(alert_id=alert_id)
        return Response(AlertDetailSerializer(alert).data)


class AlertAcknowledgeApi(APIView):
    """Acknowledge a firing alert (staff): no more repeats; it still says when it resolves.
    409 if it is not firing."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={200: AlertOutputSerializer, **errors(403, 404, 409)})
    def post(self, request, alert_id: int):
        alert = services.alert_acknowledge(
            alert=selectors.alert_get(alert_id=alert_id), by=request.user
        )
        return Response(AlertOutputSerializer(alert).data)

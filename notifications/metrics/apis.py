"""The notifications metrics endpoint: staff only; its description holds every definition."""

import inspect

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from mysetlist.core.schema import errors
from notifications.metrics import queries as metrics
from notifications.models import Category, Channel

RATE_HELP = {
    "delivery_rate": "delivered / sent; null when nothing was sent.",
    "open_rate": "opened / delivered; null when nothing was delivered.",
    "click_rate": "clicked / delivered; null when nothing was delivered.",
    "conversion_rate": "converted / clicked; null when nothing was clicked.",
}


class FunnelSerializer(serializers.Serializer):
    deliveries = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    bounced = serializers.IntegerField()
    skipped = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Still queued or held for a digest.")
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    converted = serializers.IntegerField()
    dismissed = serializers.IntegerField(help_text="In-app notifications dismissed.")
    delivery_rate = serializers.FloatField(allow_null=True, help_text=RATE_HELP["delivery_rate"])
    open_rate = serializers.FloatField(allow_null=True, help_text=RATE_HELP["open_rate"])
    click_rate = serializers.FloatField(allow_null=True, help_text=RATE_HELP["click_rate"])
    conversion_rate = serializers.FloatField(
        allow_null=True, help_text=RATE_HELP["conversion_rate"]
    )

    class Meta:
        ref_name = "NotificationFunnel"


class ChannelFunnelSerializer(FunnelSerializer):
    channel = serializers.CharField()

    class Meta:
        ref_name = "NotificationChannelFunnel"


class CategoryFunnelSerializer(FunnelSerializer):
    category = serializers.CharField()

    class Meta:
        ref_name = "NotificationCategoryFunnel"


class TemplateFunnelSerializer(FunnelSerializer):
    category = serializers.CharField()
    template_version = serializers.CharField(
        help_text=f'The version number, or "{metrics.DEFAULT_TEMPLATE}" for the built-in words.'
    )

    class Meta:
        ref_name = "NotificationTemplateFunnel"


class DayVolumeSerializer(serializers.Serializer):
    day = serializers.DateField()
    notifications = serializers.IntegerField()
    deliveries = serializers.IntegerField()
    by_channel = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        ref_name = "NotificationDayVolume"


class ChannelTimingsSerializer(serializers.Serializer):
    channel = serializers.CharField()
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p90_ms = serializers.FloatField(allow_null=True)
    latency_p99_ms = serializers.FloatField(allow_null=True)
    render_p50_ms = serializers.FloatField(allow_null=True)
    render_p99_ms = serializers.FloatField(allow_null=True)
    open_median_s = serializers.FloatField(allow_null=True)
    click_median_s = serializers.FloatField(allow_null=True)

    class Meta:
        ref_name = "NotificationChannelTimings"


class ResponseCountSerializer(serializers.Serializer):
    text = serializers.CharField()
    count = serializers.IntegerField()

    class Meta:
        ref_name = "NotificationResponseCount"


class ProviderErrorsSerializer(serializers.Serializer):
    provider = serializers.CharField(allow_blank=True)
    failed = serializers.IntegerField()
    bounced = serializers.IntegerField()
    total = serializers.IntegerField()
    top_responses = ResponseCountSerializer(many=True)

    class Meta:
        ref_name = "NotificationProviderErrors"


class NotificationMetricsApi(APIView):
    permission_classes = [IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        date_from = serializers.DateField(
            required=False, help_text=f"First UTC day; default {metrics.DEFAULT_DAYS - 1} "
            "days before date_to."
        )  # fmt: skip
        date_to = serializers.DateField(required=False, help_text="Last UTC day; default today.")
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        category = serializers.ChoiceField(choices=Category.choices, required=False)

        class Meta:
            ref_name = "NotificationMetricsFilter"

        def validate(self, data):
            date_from, date_to = metrics.window_with_defaults(
                date_from=data.get("date_from"),
                date_to=data.get("date_to"),
                today=timezone.now().date(),
            )
            problems = metrics.window_problems(date_from=date_from, date_to=date_to)
            if problems:
                raise serializers.ValidationError(
                    {name: [message] for name, message in problems.items()}
                )
            return {**data, "date_from": date_from, "date_to": date_to}

    class OutputSerializer(serializers.Serializer):
        date_from = serializers.DateField()
        date_to = serializers.DateField()
        channel = serializers.CharField(allow_null=True)
        category = serializers.CharField(allow_null=True)
        totals = FunnelSerializer()
        volume = DayVolumeSerializer(many=True)
        by_channel = ChannelFunnelSerializer(many=True)
        by_category = CategoryFunnelSerializer(many=True)
        by_template = TemplateFunnelSerializer(many=True)
        timings = ChannelTimingsSerializer(many=True)
        errors = ProviderErrorsSerializer(many=True)

        class Meta:
            ref_name = "NotificationMetricsOutput"

    @extend_schema(
        summary="Notification delivery metrics (staff)",
        description=inspect.cleandoc(metrics.delivery_metrics.__doc__)
        + "\n\n"
        + "\n".join(f"- **{name}**: {text}" for name, text in metrics.DEFINITIONS),
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **errors(400, 401, 403)},
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = metrics.delivery_metrics(
            date_from=data["date_from"],
            date_to=data["date_to"],
            channel=data.get("channel"),
            category=data.get("category"),
        )
        return Response(self.OutputSerializer(result).data)

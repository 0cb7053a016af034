"""Metric endpoints: staff only; each one's description is its metric's definition."""

import datetime as dt
from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import metrics
from analytics.metrics.breakdowns import BREAKDOWN_HELP
from analytics.models import RollupRun
from analytics.rollups.buckets import INTERVALS
from analytics.rollups.cells import DIMENSIONS
from mysetlist.core.schema import errors


def _moment(value: dt.datetime | dt.date, *, end: bool = False) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    moment = dt.datetime.combine(value, dt.time(), dt.UTC)
    return moment + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else moment


SHARE = "A share from 0 to 1 (not a percentage), rounded to 4 places; 0 where none could."
EARLIEST_DAY, LATEST_DAY = dt.date(2000, 1, 1), dt.date(2100, 1, 1)


def _in_range(day: dt.date) -> None:
    if not EARLIEST_DAY <= day < LATEST_DAY:
        raise serializers.ValidationError(f"Use a date from {EARLIEST_DAY} to {LATEST_DAY}.")


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeField(serializers.Field):
    """A day (YYYY-MM-DD, meaning its whole UTC day) or an exact ISO 8601 moment, 2000-2099,
    given in UTC."""

    default_error_messages = {"invalid": "Use YYYY-MM-DD or an ISO 8601 date-time."}

    def to_internal_value(self, data):
        try:
            value = (dt.datetime if "T" in str(data) else dt.date).fromisoformat(str(data))
        except ValueError:
            self.fail("invalid")
        _in_range(value.date() if isinstance(value, dt.datetime) else value)
        if isinstance(value, dt.datetime) and value.tzinfo:
            # In UTC: Python takes offsets up to 24 hours and with fractions of a second,
            # which PostgreSQL refuses (past ±15:59, or not whole seconds).
            value = value.astimezone(dt.UTC)
        return value

    def to_representation(self, value):
        return value.isoformat()


class TrendsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        event = serializers.CharField(max_length=200)
        interval = serializers.ChoiceField(
            choices=INTERVALS, default="day",
            help_text="UTC buckets; a week starts on Monday, a month is a calendar month.",
        )  # fmt: skip
        date_from = DateOrDateTimeField()
        date_to = DateOrDateTimeField()
        measure = serializers.ChoiceField(choices=["count", "persons"], default="count")
        breakdown = serializers.RegexField(
            r"^[A-Za-z0-9_$.-]{1,64}$", required=False, help_text=BREAKDOWN_HELP
        )
        limit = serializers.IntegerField(min_value=1, max_value=50, default=10)

        class Meta:
            ref_name = "TrendsFilter"

    class OutputSerializer(serializers.Serializer):
        breakdown = serializers.CharField(allow_null=True)
        total = serializers.IntegerField()
        points = serializers.ListField(child=serializers.ListField())

        class Meta:
            ref_name = "TrendsOutput"

    @extend_schema(
        summary="Trend of an event over time",
        description=metrics.trend.__doc__
        + f" Breakdowns by {', '.join(DIMENSIONS)} come from rollups; by any other property or "
        f"a context key, from raw events over at most {metrics.RAW_BREAKDOWN_MAX_DAYS} days, "
        "as do persons by week or month with a breakdown. Points are [bucket start, value].",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        series = metrics.trend(
            event=data["event"],
            interval=data["interval"],
            start=_moment(data["date_from"]),
            end=_moment(data["date_to"], end=True),
            measure=data["measure"],
            breakdown=data.get("breakdown"),
            limit=data["limit"],
        )
        return Response(
            [
                {
                    "breakdown": s.breakdown,
                    "total": s.total,
                    "points": [[bucket.isoformat(), value] for bucket, value in s.points],
                }
                for s in series
            ]  # fmt: skip
        )


class ActiveUsersApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        date_from = serializers.DateField(validators=[_in_range])
        date_to = serializers.DateField(validators=[_in_range])

        class Meta:
            ref_name = "ActiveUsersFilter"

    class OutputSerializer(serializers.Serializer):
        day = serializers.DateField()
        dau = serializers.IntegerField()
        wau = serializers.IntegerField()
        mau = serializers.IntegerField()
        stickiness = serializers.FloatField(help_text=f"DAU / MAU. {SHARE}")

        class Meta:
            ref_name = "ActiveUsersOutput"

    @extend_schema(
        summary="Daily, weekly and monthly active users, and stickiness",
        description=metrics.active_users.__doc__,
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        days = metrics.active_users(
            first_day=params.validated_data["date_from"], last_day=params.validated_data["date_to"]
        )
        return Response(self.OutputSerializer(days, many=True).data)


class LagSerializer(serializers.Serializer):
    runs = serializers.IntegerField()
    p50_ms = serializers.FloatField()
    p99_ms = serializers.FloatField()
    max_ms = serializers.IntegerField()

    class Meta:
        ref_name = "IngestionLag"


class IngestionLagApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        hours = serializers.IntegerField(min_value=1, max_value=24 * 30, default=24)

        class Meta:
            ref_name = "IngestionLagFilter"

    class OutputSerializer(LagSerializer):
        exact = LagSerializer(help_text="To recomputed exactly: persons, timeline (funnels).")

        class Meta:
            ref_name = "IngestionLagOutput"

    @extend_schema(
        summary="Ingestion lag: accepted to visible in metrics",
        description=metrics.ingestion_lag.__doc__,
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **errors(400, 401, 403)},
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        hours = params.validated_data["hours"]
        lag = metrics.ingestion_lag(hours=hours)
        exact = metrics.ingestion_lag(hours=hours, kind=RollupRun.Kind.EXACT)
        return Response(self.OutputSerializer({**asdict(lag), "exact": exact}).data)


class FunnelStepSerializer(serializers.Serializer):
    event = serializers.CharField()
    persons = serializers.IntegerField(help_text="Persons who got at least this far.")
    conversion_from_first = serializers.FloatField(
        help_text=f"Of the first step's persons. {SHARE}"
    )
    conversion_from_previous = serializers.FloatField(
        help_text=f"Of the previous step's persons (1 for the first step). {SHARE}"
    )
    dropped = serializers.IntegerField(help_text="Reached the previous step but not this one.")

    class Meta:
        ref_name = "FunnelStep"


class FunnelApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        steps = serializers.ListField(
            child=serializers.CharField(max_length=200), min_length=2, max_length=10,
            help_text="Event names in order; repeat the parameter: ?steps=a&steps=b",
        )  # fmt: skip
        window_hours = serializers.IntegerField(min_value=1, max_value=90 * 24, default=14 * 24)
        date_from = DateOrDateTimeField()
        date_to = DateOrDateTimeField()
        breakdown = serializers.RegexField(
            r"^[A-Za-z0-9_$.-]{1,64}$", required=False, help_text=BREAKDOWN_HELP
        )
        mode = serializers.ChoiceField(
            choices=["sequence", "first_time"], default="sequence",
            help_text="sequence: any attempt, from the timeline (with a breakdown, from raw "
                      "events); first_time: each person's first time per step, from the person "
                      "tables.",
        )  # fmt: skip

        class Meta:
            ref_name = "FunnelFilter"

        def validate(self, data):
            if data["mode"] == "first_time" and data.get("breakdown"):
                raise serializers.ValidationError(
                    {"breakdown": ["A first-time funnel has no breakdown."]}
                )
            return data

    class OutputSerializer(serializers.Serializer):
        breakdown = serializers.CharField(allow_null=True)
        steps = FunnelStepSerializer(many=True)

        class Meta:
            ref_name = "FunnelOutput"

    @extend_schema(
        summary="Funnel: ordered steps within a conversion window",
        description=f"sequence: {metrics.funnel.__doc__}\n\nfirst_time: "
        f"{metrics.funnel_first_time.__doc__}",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        bounds = {
            "steps": data["steps"],
            "window": dt.timedelta(hours=data["window_hours"]),
            "start": _moment(data["date_from"]),
            "end": _moment(data["date_to"], end=True),
        }
        if data["mode"] == "first_time":
            funnels = {None: metrics.funnel_first_time(**bounds)}
        else:
            funnels = metrics.funnel(**bounds, breakdown=data.get("breakdown"))
        ordered = sorted(funnels.items(), key=lambda item: str(item[0]))
        return Response(
            self.OutputSerializer(
                [{"breakdown": split, "steps": steps} for split, steps in ordered], many=True
            ).data
        )


class RetentionApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        period = serializers.ChoiceField(choices=["week", "month"], default="week")
        periods = serializers.IntegerField(min_value=1, max_value=24, default=8)
        date_from = serializers.DateField(validators=[_in_range])
        date_to = serializers.DateField(validators=[_in_range])
        cohort_by = serializers.ChoiceField(choices=["first_seen", "signup"], default="first_seen")
        returning_event = serializers.CharField(max_length=200, required=False)

        class Meta:
            ref_name = "RetentionFilter"

    class OutputSerializer(serializers.Serializer):
        start = serializers.DateField()
        size = serializers.IntegerField()
        returning = serializers.ListField(
            child=serializers.IntegerField(),
            help_text="Persons of the cohort active in period 0 (its own), 1, 2, ...: counts.",
        )

        class Meta:
            ref_name = "RetentionOutput"

    @extend_schema(
        summary="Cohort retention by week or month",
        description=metrics.retention.__doc__,
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = metrics.retention(
            period=data["period"],
            periods=data["periods"],
            first_day=data["date_from"],
            last_day=data["date_to"],
            cohort_by=data["cohort_by"],
            returning_event=data.get("returning_event"),
        )
        return Response(self.OutputSerializer(result, many=True).data)


class RangeFilterSerializer(serializers.Serializer):
    date_from = DateOrDateTimeField()
    date_to = DateOrDateTimeField()

    class Meta:
        ref_name = "MetricRangeFilter"


def range_params(request, serializer_class=RangeFilterSerializer):
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    data = params.validated_data
    return data, _moment(data["date_from"]), _moment(data["date_to"], end=True)

"""Endpoints of engagement and live metrics: staff only, each described by its definition."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from mysetlist.core.schema import errors

from . import metrics
from .metric_apis import RangeFilterSerializer, range_params


class SessionsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        sessions = serializers.IntegerField()
        mean_seconds = serializers.FloatField()
        median_seconds = serializers.FloatField()
        pages_per_session = serializers.FloatField()
        bounce_rate = serializers.FloatField()

        class Meta:
            ref_name = "SessionsOutput"

    @extend_schema(
        summary="Sessions: count, length, pages per session, bounce rate",
        description=metrics.session_summary.__doc__,
        parameters=[RangeFilterSerializer],
        responses={200: OutputSerializer, **errors(400, 401, 403)},
    )
    def get(self, request):
        _, start, end = range_params(request)
        return Response(self.OutputSerializer(metrics.session_summary(start=start, end=end)).data)


class PathsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(RangeFilterSerializer):
        page = serializers.CharField(max_length=500, required=False)
        direction = serializers.ChoiceField(choices=["next", "previous"], default="next")
        limit = serializers.IntegerField(min_value=1, max_value=100, default=10)

        class Meta:
            ref_name = "PathsFilter"

    @extend_schema(
        summary="Top paths between pages",
        description=metrics.paths.__doc__,
        parameters=[FilterSerializer],
        responses={
            200: inline_serializer(
                "PathMove",
                {
                    "from": serializers.CharField(),
                    "to": serializers.CharField(),
                    "count": serializers.IntegerField(),
                },
                many=True,
            ),
            **errors(400, 401, 403),
        },
    )
    def get(self, request):
        data, start, end = range_params(request, self.FilterSerializer)
        moves = metrics.paths(
            start=start, end=end, page=data.get("page"), direction=data["direction"],
            limit=data["limit"],
        )  # fmt: skip
        return Response([{"from": a, "to": b, "count": n} for a, b, n in moves])


class WebVitalsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        summary="Core Web Vitals at the 75th percentile, per page",
        description=metrics.web_vitals.__doc__,
        parameters=[RangeFilterSerializer],
        responses={
            200: inline_serializer(
                "PageWebVitals",
                {
                    "path": serializers.CharField(),
                    "samples": serializers.IntegerField(),
                    **{
                        f"{vital}_p75": serializers.FloatField(allow_null=True)
                        for vital in metrics.VITALS
                    },
                },
                many=True,
            ),
            **errors(400, 401, 403),
        },
    )
    def get(self, request):
        _, start, end = range_params(request)
        return Response(metrics.web_vitals(start=start, end=end))


class TrendingApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=sorted(metrics.TRENDING_KINDS), default="show")
        hours = serializers.IntegerField(min_value=1, max_value=24 * 14, default=48)
        half_life_hours = serializers.FloatField(min_value=0.25, max_value=24 * 7, default=6.0)
        limit = serializers.IntegerField(min_value=1, max_value=100, default=10)

        class Meta:
            ref_name = "TrendingFilter"

    @extend_schema(
        summary="Trending artists, shows or songs",
        description=metrics.trending.__doc__,
        parameters=[FilterSerializer],
        responses={
            200: inline_serializer(
                "TrendingItem",
                {
                    "id": serializers.IntegerField(),
                    "score": serializers.FloatField(),
                    "views": serializers.IntegerField(),
                    "votes": serializers.IntegerField(),
                },
                many=True,
            ),
            **errors(400, 401, 403),
        },
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(metrics.trending(now=timezone.now(), **params.validated_data))


class VotingPatternsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        summary="Voting patterns of one show",
        description=metrics.voting_patterns.__doc__,
        parameters=[RangeFilterSerializer],
        responses={200: OpenApiTypes.OBJECT, **errors(400, 401, 403, 404)},
    )
    def get(self, request, show_id):
        from mysetlist.setlists.selectors import show_get

        show_get(show_id=show_id)  # 404 for an unknown show
        _, start, end = range_params(request)
        patterns = metrics.voting_patterns(show_id=show_id, start=start, end=end)
        patterns["votes_per_minute"] = [
            [bucket.isoformat(), n] for bucket, n in patterns["votes_per_minute"]
        ]
        return Response(patterns)

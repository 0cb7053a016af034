"""Endpoints of engagement and live metrics: staff only, each described by its definition."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import metrics
from analytics.metrics.apis import SHARE, RangeFilterSerializer, range_params
from mysetlist.core.schema import errors


class SessionsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        sessions = serializers.IntegerField()
        mean_seconds = serializers.FloatField(help_text="Rounded to the millisecond.")
        median_seconds = serializers.FloatField(help_text="Rounded to the millisecond.")
        pages_per_session = serializers.FloatField(help_text="Rounded to 4 places.")
        bounce_rate = serializers.FloatField(help_text=SHARE)

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
            # "from" is no Python name, so the answer is built as dicts and described here.
            200: inline_serializer(
                name="PathsOutput",
                many=True,
                fields={
                    "from": serializers.CharField(),
                    "to": serializers.CharField(),
                    "count": serializers.IntegerField(),
                },
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

    class OutputSerializer(serializers.Serializer):
        path = serializers.CharField()
        samples = serializers.IntegerField()
        lcp_p75 = serializers.FloatField(allow_null=True, help_text="Milliseconds.")
        inp_p75 = serializers.FloatField(allow_null=True, help_text="Milliseconds.")
        cls_p75 = serializers.FloatField(allow_null=True, help_text="Unitless.")
        ttfb_p75 = serializers.FloatField(allow_null=True, help_text="Milliseconds.")

        class Meta:
            ref_name = "WebVitalsOutput"

    @extend_schema(
        summary="Core Web Vitals at the 75th percentile, per page",
        description=metrics.web_vitals.__doc__,
        parameters=[RangeFilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        _, start, end = range_params(request)
        vitals = metrics.web_vitals(start=start, end=end)
        return Response(self.OutputSerializer(vitals, many=True).data)


class TrendingApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=sorted(metrics.TRENDING_KINDS), default="show")
        hours = serializers.IntegerField(min_value=1, max_value=24 * 14, default=48)
        half_life_hours = serializers.FloatField(min_value=0.25, max_value=24 * 7, default=6.0)
        limit = serializers.IntegerField(min_value=1, max_value=100, default=10)

        class Meta:
            ref_name = "TrendingFilter"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        score = serializers.FloatField()
        views = serializers.IntegerField()
        votes = serializers.IntegerField()

        class Meta:
            ref_name = "TrendingOutput"

    @extend_schema(
        summary="Trending artists, shows or songs",
        description=metrics.trending.__doc__,
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        ranked = metrics.trending(now=timezone.now(), **params.validated_data)
        return Response(self.OutputSerializer(ranked, many=True).data)


class VotingSongSerializer(serializers.Serializer):
    song_id = serializers.IntegerField()
    title = serializers.CharField()
    upvotes = serializers.IntegerField()
    downvotes = serializers.IntegerField()
    score = serializers.IntegerField(help_text="Upvotes less downvotes.")

    class Meta:
        ref_name = "VotingPatternsSong"


class VotingPatternsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class FilterSerializer(RangeFilterSerializer):
        interval = serializers.ChoiceField(
            choices=metrics.VOTING_INTERVALS, default="minute",
            help_text="UTC buckets of the votes; at most 1000 of them in the range.",
        )  # fmt: skip

        class Meta:
            ref_name = "VotingPatternsFilter"

    class OutputSerializer(serializers.Serializer):
        interval = serializers.ChoiceField(choices=metrics.VOTING_INTERVALS)
        votes = serializers.ListField(
            child=serializers.ListField(), help_text="[bucket start, votes] per interval."
        )
        top_songs = VotingSongSerializer(many=True)
        unique_voters = serializers.IntegerField()

        class Meta:
            ref_name = "VotingPatternsOutput"

    @extend_schema(
        summary="Voting patterns of one show",
        description=metrics.voting_patterns.__doc__,
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, show_id):
        from mysetlist.setlists.selectors import show_get

        show_get(show_id=show_id)  # 404 for an unknown show
        data, start, end = range_params(request, self.FilterSerializer)
        patterns = metrics.voting_patterns(
            show_id=show_id, start=start, end=end, interval=data["interval"]
        )
        votes = [[bucket.isoformat(), n] for bucket, n in patterns["votes"]]
        return Response(self.OutputSerializer({**patterns, "votes": votes}).data)

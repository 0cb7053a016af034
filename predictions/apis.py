from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mysetlist.core.fields import NumberField
from mysetlist.core.schema import errors

from . import selectors, services


class PredictedSongSerializer(serializers.Serializer):
    song_id = serializers.IntegerField()
    title = serializers.CharField()
    probability = serializers.FloatField()
    reason = serializers.CharField()


class AccuracySerializer(serializers.Serializer):
    r_precision = serializers.FloatField()
    recall_at_25 = serializers.FloatField()
    jaccard = serializers.FloatField()
    brier = serializers.FloatField()
    scored_at = serializers.DateTimeField()


class PredictionOutputSerializer(serializers.Serializer):
    show_id = serializers.IntegerField()
    available = serializers.BooleanField()
    note = serializers.CharField(help_text="Why there are no songs, when there are none.")
    generated_at = serializers.DateTimeField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    history_shows = serializers.IntegerField()
    expected_length = serializers.IntegerField()
    main_set = PredictedSongSerializer(many=True)
    encore = PredictedSongSerializer(many=True)
    songs = PredictedSongSerializer(many=True, help_text="The 50 most likely, best first.")
    accuracy = AccuracySerializer(allow_null=True)


def prediction_payload(show_id: int, view: selectors.PredictionView | None) -> dict:
    if view is None:
        return {
            "show_id": show_id, "available": False,
            "note": "no prediction was made before this show",
            "generated_at": None, "model_version": None, "history_shows": 0,
            "expected_length": 0, "main_set": [], "encore": [], "songs": [], "accuracy": None,
        }  # fmt: skip
    prediction = view.prediction
    return {
        "show_id": show_id,
        "available": bool(view.songs),
        "note": prediction.note,
        "generated_at": prediction.generated_at,
        "model_version": prediction.model_version_id,
        "history_shows": prediction.history_shows,
        "expected_length": prediction.expected_length,
        "main_set": [vars(s) for s in view.main_set],
        "encore": [vars(s) for s in view.encore],
        "songs": [vars(s) for s in view.songs],
        "accuracy": None
        if prediction.scored_at is None
        else {
            "r_precision": prediction.r_precision,
            "recall_at_25": prediction.recall_at_25,
            "jaccard": prediction.jaccard,
            "brier": prediction.brier,
            "scored_at": prediction.scored_at,
        },
    }


class ShowPredictionApi(APIView):
    """The show's predicted setlist: each song's probability and reason, the expected length,
    main set and encore; once the show is played, how accurate it was."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: PredictionOutputSerializer, **errors(404)})
    def get(self, request, show_id):
        view = selectors.show_prediction_view_get(show_id=show_id)
        if view is None:  # none stored (or an unknown show): predict an upcoming show now
            prediction = services.prediction_ensure(show_id=show_id)
            view = None if prediction is None else selectors.prediction_view(prediction=prediction)
        return Response(PredictionOutputSerializer(prediction_payload(show_id, view)).data)


class ShowPredictionGenerateApi(APIView):
    """Predict the show again now (staff)."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None, responses={201: PredictionOutputSerializer, **errors(403, 404, 409)}
    )
    def post(self, request, show_id):
        prediction = services.prediction_generate(show_id=show_id)
        view = selectors.prediction_view(prediction=prediction)
        payload = PredictionOutputSerializer(prediction_payload(show_id, view)).data
        return Response(payload, status=201)


class PredictionSettingsApi(APIView):
    """The blend staff may change without refitting, and the active model (staff)."""

    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PredictionSettingsInput"

        vote_weight = NumberField(min_value=0, max_value=5, required=False)
        min_history = serializers.IntegerField(min_value=1, max_value=100, required=False)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PredictionSettings"

        vote_weight = serializers.FloatField()
        min_history = serializers.IntegerField()
        updated_at = serializers.DateTimeField(
            allow_null=True, help_text="Null while the defaults were never changed."
        )
        active_model = serializers.IntegerField(allow_null=True)
        active_model_evaluation = serializers.JSONField(allow_null=True)

    def _payload(self, current):
        version = selectors.model_active_get()
        return self.OutputSerializer(
            {
                "vote_weight": current.vote_weight,
                "min_history": current.min_history,
                "updated_at": current.updated_at,
                "active_model": version.pk if version else None,
                "active_model_evaluation": version.evaluation if version else None,
            }
        ).data

    @extend_schema(responses={200: OutputSerializer, **errors(403)})
    def get(self, request):
        return Response(self._payload(selectors.prediction_settings_get()))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **errors(400, 403)})
    def patch(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        current = services.prediction_settings_update(user=request.user, **data.validated_data)
        return Response(self._payload(current))


class RecommendedArtistSerializer(serializers.Serializer):
    artist_id = serializers.IntegerField()
    name = serializers.CharField()
    score = serializers.FloatField()
    reason = serializers.CharField()


class RecommendedShowSerializer(serializers.Serializer):
    show_id = serializers.IntegerField()
    artist = serializers.CharField()
    date = serializers.DateField()
    venue = serializers.CharField(allow_null=True)
    city = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class RecommendationsApi(APIView):
    """Artists and upcoming shows recommended to the signed-in fan, each with a reason."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Recommendations"

        strategy = serializers.ChoiceField(
            choices=["collaborative", "trending"],
            help_text="trending: the fan follows and voted on nothing yet (cold start).",
        )
        artists = RecommendedArtistSerializer(many=True)
        shows = RecommendedShowSerializer(many=True)

    @extend_schema(responses={200: OutputSerializer, **errors(401)})
    def get(self, request):
        found = selectors.recommendations_for(user_id=request.user.pk)
        artists = [
            {"artist_id": r.artist_id, "name": artist.name, "score": r.score, "reason": r.reason}
            for r, artist in found.artists
        ]
        shows = [
            {
                "show_id": s.show.pk,
                "artist": s.show.artist.name,
                "date": s.show.date,
                "venue": s.show.venue.name if s.show.venue_id else None,
                "city": (s.show.venue.city or None) if s.show.venue_id else None,
                "reason": s.reason,
            }
            for s in found.shows
        ]
        return Response(
            self.OutputSerializer(
                {"strategy": found.strategy, "artists": artists, "shows": shows}
            ).data
        )

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.fields import NumberField
from mysetlist.core.schema import errors
from mysetlist.setlists import selectors as setlists_selectors
from mysetlist.users.models import User

from . import selectors, services, stats
from .models import Experiment, Metric


class VariantSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=50)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    weight = NumberField(min_value=0, max_value=1)
    payload = serializers.DictField(required=False, default=dict)


class PhaseSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    seed = serializers.CharField()
    coverage = serializers.FloatField()
    variants = serializers.JSONField()
    reason = serializers.CharField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)


class StatusChangeSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    changed_at = serializers.DateTimeField()
    changed_by = serializers.CharField(allow_null=True, source="changed_by.username", default=None)


class ExperimentOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    hypothesis = serializers.CharField()
    surface = serializers.CharField()
    placement = serializers.CharField()
    notification_category = serializers.CharField()
    status = serializers.CharField()
    coverage = serializers.FloatField()
    countries = serializers.ListField(child=serializers.CharField())
    platforms = serializers.ListField(child=serializers.CharField())
    visitors = serializers.CharField()
    staff = serializers.CharField()
    follows_artist = serializers.IntegerField(source="follows_artist_id", allow_null=True)
    start_at = serializers.DateTimeField(allow_null=True)
    end_at = serializers.DateTimeField(allow_null=True)
    primary_metric = serializers.CharField(
        source="primary_metric.key", allow_null=True, default=None
    )
    secondary_metrics = serializers.SerializerMethodField()
    guardrail_metrics = serializers.SerializerMethodField()
    minimum_detectable_effect = serializers.FloatField(allow_null=True)
    killed = serializers.SerializerMethodField()
    winner = serializers.CharField()
    variants = VariantSerializer(many=True, source="variants.all")

    def get_killed(self, experiment) -> bool:
        return experiment.killed_at is not None

    def get_secondary_metrics(self, experiment) -> list[str]:
        return [metric.key for metric in experiment.secondary_metrics.all()]

    def get_guardrail_metrics(self, experiment) -> list[str]:
        return [metric.key for metric in experiment.guardrail_metrics.all()]


class ExperimentDetailSerializer(ExperimentOutputSerializer):
    phases = PhaseSerializer(many=True, source="phases.all")
    status_changes = StatusChangeSerializer(many=True, source="status_changes.all")


class ExperimentInputSerializer(serializers.Serializer):
    """The fields of an experiment staff may set; every one optional on a change."""

    name = serializers.CharField(max_length=200)
    hypothesis = serializers.CharField(required=False, allow_blank=True)
    surface = serializers.ChoiceField(choices=Experiment.Surface.choices, required=False)
    placement = serializers.SlugField(max_length=100, required=False, allow_blank=True)
    notification_category = serializers.CharField(max_length=30, required=False, allow_blank=True)
    coverage = NumberField(min_value=0, max_value=1, required=False)
    countries = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{2}$"), required=False, max_length=300
    )
    platforms = serializers.ListField(
        child=serializers.ChoiceField(choices=["web", "ios", "android"]), required=False
    )
    visitors = serializers.ChoiceField(choices=Experiment.Visitors.choices, required=False)
    staff = serializers.ChoiceField(choices=Experiment.Staff.choices, required=False)
    start_at = serializers.DateTimeField(required=False, allow_null=True)
    end_at = serializers.DateTimeField(required=False, allow_null=True)
    primary_metric = serializers.SlugRelatedField(
        slug_field="key", queryset=Metric.objects.all(), required=False, allow_null=True
    )
    secondary_metrics = serializers.SlugRelatedField(
        slug_field="key", queryset=Metric.objects.all(), many=True, required=False
    )
    guardrail_metrics = serializers.SlugRelatedField(
        slug_field="key", queryset=Metric.objects.all(), many=True, required=False
    )
    minimum_detectable_effect = NumberField(
        min_value=0.001, max_value=10, required=False, allow_null=True
    )
    baseline_value = NumberField(min_value=0, required=False, allow_null=True)
    baseline_stddev = NumberField(min_value=0, required=False, allow_null=True)
    alpha = NumberField(min_value=0.001, max_value=0.5, required=False)
    power = NumberField(min_value=0.5, max_value=0.99, required=False)
    follows_artist = serializers.PrimaryKeyRelatedField(
        queryset=setlists_selectors.artist_list(), required=False, allow_null=True
    )
    sequential = serializers.BooleanField(required=False)
    sequential_tuning = serializers.IntegerField(min_value=1, max_value=10**9, required=False)
    prior_mean = NumberField(min_value=-100, max_value=100, required=False)
    prior_stddev = NumberField(min_value=1e-6, max_value=100, required=False)
    prior_proper = serializers.BooleanField(required=False)
    variants = VariantSerializer(many=True, required=False, max_length=20)

    def validate_countries(self, value):
        return [code.upper() for code in value]

    def validate(self, attrs):
        # A field this endpoint does not know is an error, never silently dropped.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: "Unknown field." for name in unknown})
        return attrs


def _specs(rows) -> list[services.VariantSpec]:
    return [services.VariantSpec(**row) for row in rows]


def _detail(key: str):
    return ExperimentDetailSerializer(selectors.experiment_get(key=key)).data


class ExperimentListApi(APIView):
    """Every experiment (staff); POST creates a draft."""

    permission_classes = [IsAdminUser]

    class CreateSerializer(ExperimentInputSerializer):
        key = serializers.SlugField(max_length=100)
        variants = VariantSerializer(many=True, max_length=20)

    @extend_schema(responses={200: ExperimentOutputSerializer(many=True), **errors(403)})
    def get(self, request):
        return Response(ExperimentOutputSerializer(selectors.experiment_list(), many=True).data)

    @extend_schema(
        request=CreateSerializer, responses={201: ExperimentDetailSerializer, **errors(400, 403)}
    )
    def post(self, request):
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if Experiment.objects.filter(key=fields["key"]).exists():
            raise ApplicationError(
                "An experiment with this key exists.", {"fields": {"key": "already used"}}
            )
        experiment = services.experiment_create(
            variants=_specs(fields.pop("variants")), by=request.user, **fields
        )
        return Response(_detail(experiment.key), status=201)


class ExperimentDetailApi(APIView):
    """One experiment with its phases and status changes (staff); PATCH changes it. On a
    running experiment, changing the split needs `new_phase` and a `reason`."""

    permission_classes = [IsAdminUser]

    class UpdateSerializer(ExperimentInputSerializer):
        name = serializers.CharField(max_length=200, required=False)
        new_phase = serializers.BooleanField(required=False, default=False)
        reason = serializers.CharField(max_length=300, required=False, default="")

    @extend_schema(responses={200: ExperimentDetailSerializer, **errors(403, 404)})
    def get(self, request, key):
        return Response(_detail(key))

    @extend_schema(
        request=UpdateSerializer,
        responses={200: ExperimentDetailSerializer, **errors(400, 403, 404, 409)},
    )
    def patch(self, request, key):
        experiment = selectors.experiment_get(key=key)
        data = self.UpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        variants = fields.pop("variants", None)
        services.experiment_update(
            experiment=experiment,
            by=request.user,
            variants=_specs(variants) if variants is not None else None,
            **fields,
        )
        return Response(_detail(key))


class MoveInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, default="")


class _MoveApi(APIView):
    permission_classes = [IsAdminUser]

    def _move(self, request, key, move, **kwargs):
        experiment = selectors.experiment_get(key=key)
        data = MoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        move(experiment=experiment, by=request.user, **data.validated_data, **kwargs)
        return Response(_detail(key))


_MOVE_SCHEMA = extend_schema(
    request=MoveInputSerializer,
    responses={200: ExperimentDetailSerializer, **errors(400, 403, 404, 409)},
)


class ExperimentStartApi(_MoveApi):
    """Start a draft or resume a stopped experiment (staff)."""

    @_MOVE_SCHEMA
    def post(self, request, key):
        return self._move(request, key, services.experiment_start)


class ExperimentStopApi(_MoveApi):
    """Stop a running experiment: everyone sees the control (staff)."""

    @_MOVE_SCHEMA
    def post(self, request, key):
        return self._move(request, key, services.experiment_stop)


class ExperimentConcludeApi(APIView):
    """Conclude an experiment for good, with the winner everyone will see (staff)."""

    permission_classes = [IsAdminUser]

    class ConcludeInputSerializer(serializers.Serializer):
        winner = serializers.SlugField(max_length=50, required=False, default="")
        conclusion = serializers.CharField(max_length=5000, required=False, default="")

    @extend_schema(
        request=ConcludeInputSerializer,
        responses={200: ExperimentDetailSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request, key):
        experiment = selectors.experiment_get(key=key)
        data = self.ConcludeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.experiment_conclude(experiment=experiment, by=request.user, **data.validated_data)
        return Response(_detail(key))


class ExperimentKillApi(APIView):
    """The kill switch (staff): PUT sends everyone to the control at once, DELETE lifts it."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={200: ExperimentDetailSerializer, **errors(403, 404)})
    def put(self, request, key):
        services.experiment_kill(experiment=selectors.experiment_get(key=key), by=request.user)
        return Response(_detail(key))

    @extend_schema(request=None, responses={200: ExperimentDetailSerializer, **errors(403, 404)})
    def delete(self, request, key):
        experiment = selectors.experiment_get(key=key)
        services.experiment_kill(experiment=experiment, by=request.user, on=False)
        return Response(_detail(key))


class ExperimentForceApi(APIView):
    """Staff QA: PUT makes an account always see a variant, DELETE lifts it."""

    permission_classes = [IsAdminUser]

    class ForceInputSerializer(serializers.Serializer):
        user = serializers.IntegerField(min_value=1)
        variant = serializers.SlugField(max_length=50, required=False)

    class ForceOutputSerializer(serializers.Serializer):
        user = serializers.IntegerField()
        variant = serializers.CharField(allow_null=True)

    def _user(self, request, *, need_variant: bool):
        data = self.ForceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if need_variant and "variant" not in data.validated_data:
            raise ApplicationError("Name the variant.", {"fields": {"variant": "required"}})
        user = get_object_or_404(User, pk=data.validated_data["user"])
        return user, data.validated_data.get("variant")

    @extend_schema(
        request=ForceInputSerializer,
        responses={200: ForceOutputSerializer, **errors(400, 403, 404)},
    )
    def put(self, request, key):
        experiment = selectors.experiment_get(key=key)
        user, variant = self._user(request, need_variant=True)
        services.variant_force(
            experiment=experiment, user=user, variant_key=variant, by=request.user
        )
        return Response({"user": user.pk, "variant": variant})

    @extend_schema(
        request=ForceInputSerializer,
        responses={200: ForceOutputSerializer, **errors(400, 403, 404)},
    )
    def delete(self, request, key):
        experiment = selectors.experiment_get(key=key)
        user, _ = self._user(request, need_variant=False)
        services.variant_force(experiment=experiment, user=user, variant_key=None)
        return Response({"user": user.pk, "variant": None})


class AssignmentSerializer(serializers.Serializer):
    experiment = serializers.CharField()
    variant = serializers.CharField()
    in_experiment = serializers.BooleanField()
    reason = serializers.CharField()
    phase = serializers.IntegerField()
    payload = serializers.DictField()


class AssignmentsApi(APIView):
    """The variant of every running experiment for the fan asking (signed in or not), without
    recording exposures: record one by showing the variant (content endpoint, pages)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: AssignmentSerializer(many=True)})
    def get(self, request):
        found = services.assignments_for(request)
        return Response(AssignmentSerializer([vars(a) for a in found], many=True).data)


class ContentApi(APIView):
    """The content a placement shows the fan asking: the variant of the content experiment
    running there. Answering records the exposure."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: AssignmentSerializer, **errors(404)})
    def get(self, request, placement):
        assignment = services.content_variant(request, placement=placement)
        return Response(AssignmentSerializer(vars(assignment)).data)


class AnalyseApi(APIView):
    """Analyse results brought from elsewhere (staff): the body `experiment_analyse` reads,
    per-variant totals, and every figure in return. Bad input is a 400 naming each field."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=inline_serializer(
            name="AnalysisInput",
            fields={
                "metric": serializers.ChoiceField(choices=["binomial", "mean", "ratio"]),
                "variants": serializers.ListField(child=serializers.DictField()),
                "weights": serializers.ListField(child=serializers.FloatField(), required=False),
                "alpha": serializers.FloatField(required=False),
                "sequential_tuning": serializers.FloatField(required=False),
                "prior": serializers.DictField(required=False),
                "control_index": serializers.IntegerField(required=False),
            },
        ),
        responses={200: OpenApiTypes.OBJECT, **errors(400, 403)},
    )
    def post(self, request):
        try:
            return Response(stats.analyse(request.data))
        except stats.AnalysisInputError as error:
            raise ApplicationError(error.message, {"fields": error.errors}) from None

"""Reads of experiments: lists and details for staff, and the running ones as assignment
needs them (a snapshot a process keeps, see services.get_variant)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from mysetlist.core.exceptions import NotFoundError

from .assignment import Splitter
from .models import Experiment, Exposure, ForcedVariant, Phase, Variant
from .targeting import Targeting


@dataclass(frozen=True)
class LiveVariant:
    key: str
    name: str
    payload: dict


@dataclass(frozen=True)
class LiveExperiment:
    """What assignment needs of one experiment, with no query left to make."""

    id: int
    key: str
    status: str
    surface: str
    placement: str
    notification_category: str
    variants: tuple[LiveVariant, ...]  # control first
    phase_id: int | None
    phase: int
    splitter: Splitter | None  # None: no phase yet (a draft)
    targeting: Targeting
    killed: bool
    winner: int | None  # position of the winner, once concluded
    forced: dict[int, int]  # user id -> variant position


def experiment_list() -> QuerySet[Experiment]:
    return Experiment.objects.select_related("primary_metric").prefetch_related(
        "variants", "secondary_metrics", "guardrail_metrics"
    )


def experiment_get(*, key: str) -> Experiment:
    """Return the experiment with its variants, phases and status changes, or NotFoundError."""
    experiment = (
        experiment_list()
        .prefetch_related(
            Prefetch(
                "phases",
                queryset=Phase.objects.annotate(exposed=Count("exposures")).order_by("number"),
            ),
            "status_changes",
        )
        .filter(key=key)
        .first()
    )
    if experiment is None:
        raise NotFoundError(f"There is no experiment {key!r}.", {"key": key})
    return experiment


def phase_current(*, experiment: Experiment) -> Phase | None:
    return experiment.phases.order_by("-number").first()


def _live(experiment: Experiment, phase: Phase | None, forced: dict[int, int]) -> LiveExperiment:
    variants = tuple(
        LiveVariant(key=v.key, name=v.name or v.key, payload=v.payload)
        for v in experiment.variants.all()
    )
    keys = [v.key for v in variants]
    splitter = None
    if phase is not None:
        splitter = Splitter.of(phase.seed, [v["weight"] for v in phase.variants], phase.coverage)
    return LiveExperiment(
        id=experiment.pk,
        key=experiment.key,
        status=experiment.status,
        surface=experiment.surface,
        placement=experiment.placement,
        notification_category=experiment.notification_category,
        variants=variants,
        phase_id=phase.pk if phase else None,
        phase=phase.number if phase else 0,
        splitter=splitter,
        targeting=Targeting(
            countries=frozenset(c.upper() for c in experiment.countries),
            platforms=frozenset(experiment.platforms),
            visitors=experiment.visitors,
            staff=experiment.staff,
            follows_artist_id=experiment.follows_artist_id,
        ),
        killed=experiment.killed_at is not None,
        winner=keys.index(experiment.winner) if experiment.winner in keys else None,
        forced=forced,
    )


def _latest_phases() -> dict[int, Phase]:
    """Return each experiment's latest phase, by experiment id."""
    phases: dict[int, Phase] = {}
    for phase in Phase.objects.order_by("experiment_id", "number"):
        phases[phase.experiment_id] = phase  # the latest wins
    return phases


def live_experiments() -> dict[str, LiveExperiment]:
    """Return every experiment by key as assignment sees it, in five queries."""
    experiments = list(Experiment.objects.prefetch_related("variants"))
    phases = _latest_phases()
    positions = {pk: position for pk, position in Variant.objects.values_list("pk", "position")}
    forced: dict[int, dict[int, int]] = {}
    for experiment_id, user_id, variant_id in ForcedVariant.objects.values_list(
        "experiment_id", "user_id", "variant_id"
    ):
        forced.setdefault(experiment_id, {})[user_id] = positions[variant_id]
    return {e.key: _live(e, phases.get(e.pk), forced.get(e.pk, {})) for e in experiments}


def exposure_find(*, phase_id: int, user_id: int | None, subjects: list[str]) -> int | None:
    """Return the variant position of the earliest exposure in the phase of the user or of
    any of the subjects (their anonymous ids), or None."""
    match = Q(subject__in=subjects)
    if user_id is not None:
        match |= Q(user_id=user_id)
    return (
        Exposure.objects.filter(match, phase_id=phase_id)
        .order_by("exposed_at", "pk")
        .values_list("variant", flat=True)
        .first()
    )


def exposure_counts(*, phase_id: int) -> dict[int, int]:
    """Return the exposed subjects per variant position in a phase."""
    rows = (
        Exposure.objects.filter(phase_id=phase_id)
        .values_list("variant")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def exposure_positions(*, phase_id: int, user_ids: list[int]) -> dict[int, int]:
    """Return the variant position of each of these users already exposed in the phase
    (by their account or by a browser since linked to it; the earliest wins)."""
    rows = (
        Exposure.objects.filter(phase_id=phase_id, user_id__in=user_ids)
        .order_by("user_id", "-exposed_at", "-pk")
        .values_list("user_id", "variant")
    )
    return dict(rows)


def exposure_rows(*, phase_id: int, subjects: list[str]) -> list[tuple[int, int, object]]:
    """Return (user id, variant position, exposed at) of these subjects' exposures."""
    return list(
        Exposure.objects.filter(phase_id=phase_id, subject__in=subjects).values_list(
            "user_id", "variant", "exposed_at"
        )
    )


def experiment_summaries() -> list[dict]:
    """Return every experiment's key, name, status, current phase and exposures in it, for
    staff dashboards: running ones first, then by key."""
    experiments = list(Experiment.objects.order_by("key"))
    phases = _latest_phases()
    exposures = dict(
        Exposure.objects.filter(phase_id__in=[p.pk for p in phases.values()])
        .values("phase_id")
        .annotate(n=Count("id"))
        .values_list("phase_id", "n")
    )
    summaries = [
        {
            "key": e.key,
            "name": e.name,
            "status": e.status,
            "phase": phases[e.pk].number if e.pk in phases else None,
            "exposures": exposures.get(phases[e.pk].pk, 0) if e.pk in phases else 0,
        }
        for e in experiments
    ]
    return sorted(summaries, key=lambda s: (s["status"] != Experiment.Status.RUNNING, s["key"]))

"""Writes of experiments: set-up, the status lifecycle, phases, forced variants, the kill
switch and exposures; and `get_variant`, the one way code asks which variant a fan sees."""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics import public as analytics_public
from analytics import selectors as analytics_selectors
from analytics import services as analytics_services
from mysetlist.core import tiered_cache
from mysetlist.core.exceptions import ApplicationError, ConflictError, NotFoundError
from mysetlist.setlists import selectors as setlists_selectors
from mysetlist.users.models import User
from notifications import selectors as notifications_selectors

from . import selectors, stats
from .models import Experiment, Exposure, ForcedVariant, Metric, Phase, StatusChange, Variant
from .targeting import Attributes, attributes_from

logger = logging.getLogger(__name__)

EXPOSURE_EVENT = "$experiment_exposure"
WEIGHT_TOLERANCE = 1e-6
ACCOUNT = "user:"  # the analytics distinct id of an account, and its assignment id
EXPERIMENTS_NAMESPACE = "experiments"  # the tiered cache's, for the running experiments
LIVE_SECONDS = 10 * 60  # a safety net: every change to an experiment invalidates them
RELATED_METRICS = ("secondary_metrics", "guardrail_metrics")

Status = Experiment.Status

# Which moves of the status are allowed; concluded is final.
TRANSITIONS = {
    Status.DRAFT: {Status.RUNNING, Status.CONCLUDED},
    Status.RUNNING: {Status.STOPPED, Status.CONCLUDED},
    Status.STOPPED: {Status.RUNNING, Status.CONCLUDED},
    Status.CONCLUDED: set(),
}


@dataclass(frozen=True)
class VariantSpec:
    key: str
    weight: float
    name: str = ""
    payload: dict = field(default_factory=dict)


def variants_validate(variants: Sequence[VariantSpec]) -> None:
    errors = {}
    if len(variants) < 2:
        errors["variants"] = "An experiment needs at least two variants (the first is control)."
    keys = [v.key for v in variants]
    if len(set(keys)) != len(keys):
        errors["variants"] = f"Variant keys must differ: {keys}."
    if any(not (0 <= v.weight <= 1) for v in variants):
        errors["weights"] = "Each weight must be between 0 and 1."
    elif variants and abs(sum(v.weight for v in variants) - 1) > WEIGHT_TOLERANCE:
        total = sum(v.weight for v in variants)
        errors["weights"] = f"The weights must sum to 1; they sum to {total:g}."
    if errors:
        raise ApplicationError("The variants are not valid.", {"fields": errors})


def split_of(experiment: Experiment) -> list[dict]:
    return [{"key": v.key, "weight": v.weight} for v in experiment.variants.order_by("position")]


def _version_bump() -> None:
    """Tell every process to reload its experiments once the change commits; until then this
    transaction reads them afresh (so the rest of it sees the change)."""
    tiered_cache.invalidate_on_commit(EXPERIMENTS_NAMESPACE)


@transaction.atomic
def metric_save(*, metric: Metric) -> Metric:
    """Create or change a metric; its events must be ones the platform has stored."""
    metric.full_clean()
    metric_events_check(metric=metric)
    metric.save()
    return metric


def metric_events_check(*, metric: Metric) -> None:
    """Raise ApplicationError naming each event of the metric the platform never stored."""
    unknown = {
        name: f"No event {getattr(metric, name)!r} was ever stored."
        for name in ("event", "denominator_event")
        if getattr(metric, name)
        and not analytics_selectors.event_name_known(name=getattr(metric, name))
    }
    if unknown:
        raise ApplicationError("The metric names an unknown event.", {"fields": unknown})


@transaction.atomic
def experiment_create(
    *,
    key: str,
    name: str,
    variants: Sequence[VariantSpec],
    by: User | None = None,
    **fields,
) -> Experiment:
    """Create a draft experiment with its variants (the first is control)."""
    variants_validate(variants)
    related = {name: fields.pop(name) for name in RELATED_METRICS if name in fields}
    experiment = Experiment(key=key, name=name, created_by=by, **fields)
    experiment.full_clean()
    _category_check(experiment)
    experiment.save()
    for name, metrics in related.items():
        getattr(experiment, name).set(metrics)
    _variants_write(experiment, variants)
    StatusChange.objects.create(
        experiment=experiment, to_status=Status.DRAFT, changed_at=timezone.now(), changed_by=by
    )
    _version_bump()
    return experiment


def _variants_write(experiment: Experiment, variants: Sequence[VariantSpec]) -> None:
    experiment.variants.all().delete()
    for position, spec in enumerate(variants):
        variant = Variant(
            experiment=experiment,
            key=spec.key,
            name=spec.name,
            position=position,
            weight=spec.weight,
            payload=spec.payload,
        )
        variant.full_clean(exclude=["experiment"])
        variant.save()


@transaction.atomic
def experiment_update(
    *,
    experiment: Experiment,
    by: User | None = None,
    variants: Sequence[VariantSpec] | None = None,
    new_phase: bool = False,
    reason: str = "",
    **fields,
) -> Experiment:
    """Change an experiment. On a running one, a change of the split (variants, weights,
    coverage lowered) is refused unless `new_phase`: then a new phase starts with a new seed,
    everyone is randomised again, and `reason` is recorded. Raising coverage only adds fans
    and keeps the phase. A concluded experiment cannot change."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status == Status.CONCLUDED:
        raise ConflictError("A concluded experiment cannot change.", {"status": experiment.status})
    old_split, old_coverage = split_of(experiment), experiment.coverage
    if variants is not None:
        variants_validate(variants)
    related = {name: fields.pop(name) for name in RELATED_METRICS if name in fields}
    for name, value in fields.items():
        if not hasattr(experiment, name) or name in {"id", "status", "killed_at", "winner"}:
            raise ApplicationError(f"{name!r} cannot be set here.", {"fields": {name: "unknown"}})
        setattr(experiment, name, value)
    experiment.full_clean()
    _category_check(experiment)
    new_split = (
        [{"key": v.key, "weight": v.weight} for v in variants]
        if variants is not None
        else old_split
    )
    moves = new_split != old_split or experiment.coverage < old_coverage
    running = experiment.status == Status.RUNNING
    if running:  # a running experiment stays one that could start
        _surface_check(experiment)
    if running and moves and not new_phase:
        raise ConflictError(
            "Changing the variants, weights or lowering the coverage of a running experiment "
            "would move fans between variants: start a new phase (new_phase) to do it.",
            {"fields": {"new_phase": "required for this change"}},
        )
    if moves and new_phase and not reason.strip():
        raise ApplicationError(
            "Say why the new phase starts.", {"fields": {"reason": "required with new_phase"}}
        )
    experiment.save()
    for name, metrics in related.items():
        getattr(experiment, name).set(metrics)
    if variants is not None:
        if running or experiment.phases.exists():
            _variants_keep(experiment, variants)
        else:
            _variants_write(experiment, variants)
    if running and (moves or new_phase):
        _phase_start(experiment, by=by, reason=reason.strip())
    elif running and experiment.coverage != old_coverage:
        Phase.objects.filter(experiment=experiment, ended_at__isnull=True).update(
            coverage=experiment.coverage
        )
    _version_bump()
    return experiment


def _variants_keep(experiment: Experiment, variants: Sequence[VariantSpec]) -> None:
    """Rewrite the variants of an experiment that has phases, keeping the rows of kept keys
    (exposures and forced variants refer to them) and their order before new ones."""
    existing = {v.key: v for v in experiment.variants.all()}
    wanted = [v.key for v in variants]
    if wanted[0] != next(iter(sorted(existing.values(), key=lambda v: v.position))).key:
        raise ApplicationError(
            "The control (first variant) cannot change once the experiment has run.",
            {"fields": {"variants": "keep the control first"}},
        )
    experiment.variants.exclude(key__in=wanted).delete()
    # Move every kept row out of the way first: positions are unique.
    for offset, variant in enumerate(experiment.variants.all()):
        variant.position = 1000 + offset
        variant.save(update_fields=["position"])
    for position, spec in enumerate(variants):
        variant = existing.get(spec.key) or Variant(experiment=experiment, key=spec.key)
        variant.name, variant.weight, variant.payload = spec.name, spec.weight, spec.payload
        variant.position = position
        variant.full_clean(exclude=["experiment"])
        variant.save()


def _phase_start(experiment: Experiment, *, by: User | None, reason: str) -> Phase:
    now = timezone.now()
    last = experiment.phases.order_by("-number").first()
    if last is not None and last.ended_at is None:
        last.ended_at = now
        last.save(update_fields=["ended_at"])
    number = last.number + 1 if last else 1
    phase = Phase(
        experiment=experiment,
        number=number,
        # Phase 1 hashes with the key, as GrowthBook does; later phases with a new seed.
        seed=experiment.key if number == 1 else f"{experiment.key}:{secrets.token_hex(4)}",
        coverage=experiment.coverage,
        variants=split_of(experiment),
        reason=reason or ("started" if number == 1 else "restarted"),
        started_at=now,
        started_by=by,
    )
    phase.full_clean(exclude=["experiment"])
    phase.save()
    return phase


def _status_move(experiment: Experiment, to: str, *, by: User | None, note: str = "") -> None:
    if to not in TRANSITIONS[experiment.status]:
        raise ConflictError(
            f"A {experiment.status} experiment cannot be {to}.",
            {"status": experiment.status, "to": to},
        )
    StatusChange.objects.create(
        experiment=experiment,
        from_status=experiment.status,
        to_status=to,
        note=note,
        changed_at=timezone.now(),
        changed_by=by,
    )
    experiment.status = to
    experiment.save(update_fields=["status", "updated_at"])


@transaction.atomic
def experiment_start(
    *, experiment: Experiment, by: User | None = None, note: str = ""
) -> Experiment:
    """Run a draft (its first phase starts) or resume a stopped experiment (its phase goes
    on: nobody moves). A concluded experiment cannot start again."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    variants_validate([VariantSpec(key=v.key, weight=v.weight) for v in experiment.variants.all()])
    _surface_check(experiment)
    _status_move(experiment, Status.RUNNING, by=by, note=note)
    last = experiment.phases.order_by("-number").first()
    if (
        last is None
        or split_of(experiment) != last.variants
        or experiment.coverage < last.coverage  # fans would leave: randomise again
    ):
        _phase_start(experiment, by=by, reason=note or "started")
    else:
        last.ended_at = None
        last.coverage = experiment.coverage  # raised while stopped: only adds fans
        last.save(update_fields=["ended_at", "coverage"])
    if experiment.start_at is None:
        experiment.start_at = timezone.now()
        experiment.save(update_fields=["start_at"])
    _version_bump()
    return experiment


def _category_check(experiment: Experiment) -> None:
    """A notification category, when one is named, is one the notifications app has."""
    category = experiment.notification_category
    if category and category not in notifications_selectors.category_keys():
        raise ApplicationError(
            f"{category!r} is not a notification category.",
            {"fields": {"notification_category": "unknown"}},
        )


def _surface_check(experiment: Experiment) -> None:
    """What an experiment must be to run on its surface: a content experiment names a
    placement no other running one has; a notification experiment, see below."""
    if experiment.surface == Experiment.Surface.CONTENT and not experiment.placement:
        raise ApplicationError(
            "A content experiment needs a placement.", {"fields": {"placement": "required"}}
        )
    if experiment.surface == Experiment.Surface.CONTENT:
        clash = Experiment.objects.filter(
            surface=experiment.surface, placement=experiment.placement, status=Status.RUNNING
        ).exclude(pk=experiment.pk)
        if clash.exists():
            raise ConflictError(
                f"Experiment {clash.first().key!r} already runs on {experiment.placement!r}.",
                {"fields": {"placement": "taken by a running experiment"}},
            )
    if experiment.surface == Experiment.Surface.NOTIFICATION:
        _notification_experiment_check(experiment)


def _notification_experiment_check(experiment: Experiment) -> None:
    """A notification experiment names a category of notification, is the only one running
    on it, and targets nothing a recipient's account does not tell (not country, platform)."""
    category = experiment.notification_category
    if category not in notifications_selectors.category_keys():
        raise ApplicationError(
            f"{category!r} is not a notification category."
            if category
            else "A notification experiment needs a notification category.",
            {"fields": {"notification_category": "unknown" if category else "required"}},
        )
    clash = Experiment.objects.filter(
        surface=experiment.surface, notification_category=category, status=Status.RUNNING
    ).exclude(pk=experiment.pk)
    if clash.exists():
        raise ConflictError(
            f"Experiment {clash.first().key!r} already runs on {category!r} notifications.",
            {"fields": {"notification_category": "taken by a running experiment"}},
        )
    timings = notifications_selectors.delivery_timings()
    wrong = [
        v.key
        for v in experiment.variants.all()
        if isinstance(v.payload, dict) and v.payload.get("timing", timings[0]) not in timings
    ]
    if wrong:
        raise ApplicationError(
            f"A variant's timing is one of {', '.join(timings)}: not so in {', '.join(wrong)}.",
            {"fields": {"variants": {key: {"timing": "unknown"} for key in wrong}}},
        )
    if experiment.countries or experiment.platforms:
        raise ApplicationError(
            "A notification experiment cannot target countries or platforms: a recipient's "
            "are not known when notifications go out.",
            {"fields": {"countries" if experiment.countries else "platforms": "not allowed"}},
        )


@transaction.atomic
def experiment_stop(
    *, experiment: Experiment, by: User | None = None, note: str = ""
) -> Experiment:
    """Stop a running experiment: everyone sees the control, nobody more is exposed."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    _status_move(experiment, Status.STOPPED, by=by, note=note)
    experiment.phases.filter(ended_at__isnull=True).update(ended_at=timezone.now())
    experiment.end_at = timezone.now()
    experiment.save(update_fields=["end_at"])
    _version_bump()
    return experiment


@transaction.atomic
def experiment_conclude(
    *, experiment: Experiment, by: User | None = None, winner: str = "", conclusion: str = ""
) -> Experiment:
    """Conclude an experiment for good; with a winner, everyone sees the winning variant."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    keys = list(experiment.variants.values_list("key", flat=True))
    if winner and winner not in keys:
        raise ApplicationError(
            f"There is no variant {winner!r}; the variants are {keys}.",
            {"fields": {"winner": "unknown variant"}},
        )
    _status_move(experiment, Status.CONCLUDED, by=by, note=conclusion[:300])
    experiment.phases.filter(ended_at__isnull=True).update(ended_at=timezone.now())
    experiment.winner, experiment.conclusion = winner, conclusion
    experiment.end_at = experiment.end_at or timezone.now()
    experiment.save(update_fields=["winner", "conclusion", "end_at"])
    _version_bump()
    return experiment


@transaction.atomic
def experiment_kill(
    *, experiment: Experiment, by: User | None = None, on: bool = True
) -> Experiment:
    """The kill switch: everyone sees the control at once (`on=False` lifts it). Nothing else
    changes, so lifting it puts everyone back in their variant."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    experiment.killed_at = timezone.now() if on else None
    experiment.killed_by = by if on else None
    experiment.save(update_fields=["killed_at", "killed_by", "updated_at"])
    StatusChange.objects.create(
        experiment=experiment,
        from_status=experiment.status,
        to_status=experiment.status,
        note="kill switch on: everyone sees the control" if on else "kill switch off",
        changed_at=timezone.now(),
        changed_by=by,
    )
    _version_bump()
    return experiment


@transaction.atomic
def variant_force(
    *, experiment: Experiment, user: User, variant_key: str | None, by: User | None = None
) -> ForcedVariant | None:
    """Make the account always see a variant (staff QA); None lifts it. Forced views are not
    exposures: they never enter the results."""
    ForcedVariant.objects.filter(experiment=experiment, user=user).delete()
    if variant_key is None:
        _version_bump()
        return None
    variant = experiment.variants.filter(key=variant_key).first()
    if variant is None:
        raise NotFoundError(
            f"Experiment {experiment.key!r} has no variant {variant_key!r}.",
            {"fields": {"variant": "unknown variant"}},
        )
    forced = ForcedVariant(experiment=experiment, user=user, variant=variant, created_by=by)
    forced.full_clean()
    forced.save()
    _version_bump()
    return forced


# ---- assignment -------------------------------------------------------------------------

NEW_DAYS = 30  # a fan whose account is younger than this is "new"


def request_attributes(request) -> Attributes:
    """Return the attributes of the fan making a request (a visitor counts as new)."""
    user = request.user if request.user.is_authenticated else None
    follows = None
    if user is not None:

        def follows(artist_id: int) -> bool:
            return any(a == artist_id for _, a in setlists_selectors.follow_pairs(user_id=user.pk))

    return attributes_from(
        request.META,
        is_staff=bool(user and user.is_staff),
        is_new=user is None or (timezone.now() - user.date_joined).days < NEW_DAYS,
        country_header=settings.EXPERIMENTS_COUNTRY_HEADER,
        follows=follows,
    )


def request_variant(request, *, key: str, expose: bool = True) -> Assignment:
    """Return `get_variant` for the fan making a request: their account, their browser's
    anonymous id and their attributes. A browser that may not be tracked (a bot, Do-Not-Track,
    a refused consent) sees the control and is never counted."""
    return get_variant(
        key=key,
        user=request.user,
        distinct_id=request.COOKIES.get(settings.ANALYTICS_DISTINCT_ID_COOKIE),
        attributes=request_attributes(request),
        expose=expose,
        tracked=analytics_public.tracking_allowed(request)
        and not analytics_public.is_bot(request.META.get("HTTP_USER_AGENT")),
    )


@dataclass(frozen=True)
class Assignment:
    """The variant a fan sees. `in_experiment` says whether it counts (an exposure)."""

    experiment: str
    variant: str  # key; the control's when not in the experiment
    position: int
    payload: dict
    in_experiment: bool
    reason: str  # assigned | forced | killed | not running | concluded | not targeted | ...
    phase: int = 0


def _live_experiments() -> dict[str, selectors.LiveExperiment]:
    """Return the experiments as assignment needs them, from the tiered cache: each process
    keeps them, and a change reaches every process within its version check (a second)."""
    return tiered_cache.cached(
        EXPERIMENTS_NAMESPACE, "live", ttl=LIVE_SECONDS, loader=selectors.live_experiments
    )


class _Seen:
    """Subjects a process already knows the exposure of, per phase: (phase id, subject) ->
    variant position. Bounded, oldest forgotten first."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self.items: OrderedDict[tuple[int, str], int] = OrderedDict()

    def get(self, key: tuple[int, str]) -> int | None:
        return self.items.get(key)

    def put(self, key: tuple[int, str], position: int) -> None:
        self.items[key] = position
        if len(self.items) > self.size:
            self.items.popitem(last=False)


_seen = _Seen()


def _control(live, reason: str, *, position: int = 0) -> Assignment:
    variant = live.variants[position]
    return Assignment(
        experiment=live.key,
        variant=variant.key,
        position=position,
        payload=variant.payload,
        in_experiment=False,
        reason=reason,
        phase=live.phase,
    )


def get_variant(
    *,
    key: str,
    user: User | None = None,
    distinct_id: str | None = None,
    attributes: Attributes | None = None,
    expose: bool = True,
    tracked: bool = True,
) -> Assignment:
    """Return the variant of experiment `key` the fan sees, and record the exposure (once per
    fan and phase) when they are in it and `expose`.

    A signed-in fan is split by their account; a visitor by their anonymous id. A fan first
    exposed while anonymous keeps that variant once signed in (give both `user` and the
    browser's `distinct_id`). A fan who may not be `tracked` sees the control, uncounted.
    Raise NotFoundError for an unknown experiment.
    """
    live = _live_experiments().get(key)
    if live is None:
        raise NotFoundError(f"There is no experiment {key!r}.", {"key": key})
    if user is not None and not user.is_authenticated:
        user = None
    if live.killed:
        return _control(live, "killed")
    if live.status == Status.CONCLUDED:
        return _control(live, "concluded", position=live.winner or 0)
    if live.status != Status.RUNNING or live.splitter is None:
        return _control(live, "not running")
    if user is not None and user.pk in live.forced:
        return _control(live, "forced", position=live.forced[user.pk])
    if not tracked:
        return _control(live, "not tracked")
    subject = f"{ACCOUNT}{user.pk}" if user is not None else distinct_id
    if not subject:
        return _control(live, "no id")
    fan = attributes or Attributes(is_staff=bool(user and user.is_staff))
    if not live.targeting.admits(fan):
        return _control(live, "not targeted")
    position = _seen.get((live.phase_id, subject))
    if position is None:
        if user is not None:  # sticky across log-in: an earlier exposure wins
            position = selectors.exposure_find(
                phase_id=live.phase_id,
                user_id=user.pk,
                subjects=[subject] + ([distinct_id] if distinct_id else []),
            )
        if position is None:
            position = live.splitter.variant(subject)
            if position < 0:
                return _control(live, "outside coverage")
            if expose:
                position = exposure_record(
                    live=live, subject=subject, user=user, position=position, fan=attributes
                )
        elif user is not None and expose:
            _exposure_claim(live.phase_id, distinct_id, user)
        if expose:
            _seen.put((live.phase_id, subject), position)
    variant = live.variants[position]
    return Assignment(
        experiment=live.key,
        variant=variant.key,
        position=position,
        payload=variant.payload,
        in_experiment=True,
        reason="assigned",
        phase=live.phase,
    )


def exposure_record(
    *,
    live: selectors.LiveExperiment,
    subject: str,
    user: User | None,
    position: int,
    fan: Attributes | None = None,
) -> int:
    """Record the subject's first exposure in the live phase and its analytics event; return
    the variant recorded (an earlier exposure's, if another request won the race)."""
    try:
        with transaction.atomic():
            exposure, created = Exposure.objects.get_or_create(
                phase_id=live.phase_id,
                subject=subject,
                defaults={
                    "user": user,
                    "variant": position,
                    "exposed_at": timezone.now(),
                    **_segment(fan),
                },
            )
            if created:
                analytics_services.track(
                    event=EXPOSURE_EVENT,
                    user=user,
                    distinct_id=None if user is not None else subject,
                    properties={
                        "experiment": live.key,
                        "phase": live.phase,
                        "variant": live.variants[position].key,
                    },
                )
    except IntegrityError:
        exposure = Exposure.objects.get(phase_id=live.phase_id, subject=subject)
    return exposure.variant


def _segment(fan: Attributes | None) -> dict:
    if fan is None:
        return {}
    return {"platform": fan.platform, "country": fan.country, "is_new": fan.is_new}


def _exposure_claim(phase_id: int, distinct_id: str | None, user: User) -> None:
    """Mark the browser's anonymous exposure as the signed-in user's, so the variant follows
    them to other devices, without a second exposure (or its event) — unless the user has
    an exposure in the phase already: one user is one unit, never counted in two arms."""
    if distinct_id and not Exposure.objects.filter(phase_id=phase_id, user=user).exists():
        Exposure.objects.filter(phase_id=phase_id, subject=distinct_id, user__isnull=True).update(
            user=user
        )


def content_variant(request, *, placement: str) -> Assignment:
    """Return the variant the fan sees of the content experiment running at `placement`
    (or concluded there with a winner); NotFoundError when none is."""
    candidates = [
        live
        for live in _live_experiments().values()
        if live.surface == Experiment.Surface.CONTENT and live.placement == placement
    ]
    live = next((e for e in candidates if e.status == Status.RUNNING), None) or next(
        (e for e in candidates if e.status == Status.CONCLUDED and e.winner is not None), None
    )
    if live is None:
        raise NotFoundError(
            f"No content experiment runs at placement {placement!r}.", {"placement": placement}
        )
    return request_variant(request, key=live.key)


def assignments_for(request) -> list[Assignment]:
    """Return the fan's variant of every running experiment, recording no exposure."""
    return [
        request_variant(request, key=key, expose=False)
        for key, live in sorted(_live_experiments().items())
        if live.status == Status.RUNNING
    ]


@dataclass(frozen=True)
class TemplateChoice:
    """The words one recipient of a notification gets: the `variant` of the notification
    experiment `experiment` they are in ("" when they are in none and it is a concluded
    experiment's winner, or a staff member's forced variant), and when it goes: the
    variant's `timing` payload, "" for the notifications app's default.

    Delivery timing is tested as a variant setting, `{"timing": "open_hours"}` against
    `{"timing": "immediate"}`, rather than as a surface of its own: each delivery records one
    experiment and variant, the results read opens and clicks from those, and one
    experiment per category means no delivery is ever in two, whose effects on opens would
    mix. A timing test is a notification experiment whose variants have no templates of
    their own (everyone gets the default words); one may vary words and timing at once.
    """

    experiment: str
    variant: str
    timing: str = ""

    def row(self) -> tuple[str, str]:
        return (self.experiment, self.variant)


def _template_choice(experiment: str, variant: selectors.LiveVariant) -> TemplateChoice:
    payload = variant.payload if isinstance(variant.payload, dict) else {}
    return TemplateChoice(experiment, variant.key, str(payload.get("timing") or ""))


def notification_variants(
    *, category: str, user_ids: Sequence[int], now=None
) -> dict[int, TemplateChoice]:
    """Return the template variant each recipient of a `category` fan-out gets, by the same
    assignment as `get_variant` (their account's id), and record the exposure of each one
    first seen in the running experiment's phase: one Exposure and one analytics event per
    user and phase, however many notifications follow. Users missing from the answer get the
    default words: no experiment on the category, a killed or stopped one, outside its
    coverage or targeting."""
    candidates = [
        live
        for live in _live_experiments().values()
        if live.surface == Experiment.Surface.NOTIFICATION
        and live.notification_category == category
    ]
    live = next((e for e in candidates if e.status == Status.RUNNING), None)
    if live is None:
        winner = next(
            (
                e
                for e in candidates
                if e.status == Status.CONCLUDED and e.winner is not None and not e.killed
            ),
            None,
        )
        if winner is None:
            return {}
        choice = _template_choice("", winner.variants[winner.winner])
        return dict.fromkeys(user_ids, choice)
    if live.killed or live.splitter is None or not user_ids:
        return {}
    now = now or timezone.now()
    out: dict[int, TemplateChoice] = {}
    forced = {pk: live.forced[pk] for pk in user_ids if pk in live.forced}
    for pk, position in forced.items():
        out[pk] = _template_choice("", live.variants[position])
    eligible = _notification_eligible(live, [pk for pk in user_ids if pk not in forced], now)
    known = selectors.exposure_positions(phase_id=live.phase_id, user_ids=list(eligible))
    fresh: list[Exposure] = []
    for pk, is_new in eligible.items():
        position = known.get(pk)
        if position is None:
            position = live.splitter.variant(f"{ACCOUNT}{pk}")
            if position < 0:
                continue  # outside coverage: the default words, uncounted
            fresh.append(
                Exposure(
                    phase_id=live.phase_id,
                    subject=f"{ACCOUNT}{pk}",
                    user_id=pk,
                    variant=position,
                    exposed_at=now,
                    is_new=is_new,
                )
            )
        out[pk] = _template_choice(live.key, live.variants[position])
    if fresh:
        _exposures_record(live, fresh, now, out)
    return out


def template_variant_now(*, experiment: str, variant: str) -> str:
    """Return the template variant a delivery recorded at fan-out should be sent in now: its
    own while its experiment runs; the winner's once concluded; the default words ("") once
    killed or stopped. A delivery outside any experiment (a winner's or a forced variant)
    keeps its variant."""
    if not experiment:
        return variant
    live = _live_experiments().get(experiment)
    if live is None or live.killed:
        return ""
    if live.status == Status.RUNNING:
        return variant
    if live.status == Status.CONCLUDED and live.winner is not None:
        return live.variants[live.winner].key
    return ""


def _notification_eligible(live, user_ids: list[int], now) -> dict[int, bool]:
    """Return, of the users, those the experiment's targeting admits, with whether each is
    new. A recipient has no request: their country and platform are unknown, which is why
    a notification experiment cannot target them (see experiment_start)."""
    if not user_ids:
        return {}
    followers = (
        set(setlists_selectors.follower_ids(artist_id=live.targeting.follows_artist_id))
        if live.targeting.follows_artist_id is not None
        else set()
    )
    eligible = {}
    for pk, is_staff, joined in User.objects.filter(pk__in=user_ids).values_list(
        "pk", "is_staff", "date_joined"
    ):
        fan = Attributes(
            is_new=(now - joined).days < NEW_DAYS,
            is_staff=is_staff,
            follows=lambda artist_id, pk=pk: pk in followers,
        )
        if live.targeting.admits(fan):
            eligible[pk] = fan.is_new
    return eligible


def _exposures_record(live, fresh: list[Exposure], now, out: dict[int, TemplateChoice]) -> None:
    """Insert first exposures; one a concurrent request made first wins, and the user gets
    its variant. Only the rows written here (stamped `now`) get an exposure event."""
    Exposure.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=2000)
    stored = selectors.exposure_rows(phase_id=live.phase_id, subjects=[e.subject for e in fresh])
    events = []
    for user_id, position, exposed_at in stored:
        out[user_id] = _template_choice(live.key, live.variants[position])
        if exposed_at == now:
            events.append(
                analytics_services.AccountEvent(
                    event=EXPOSURE_EVENT,
                    user_id=user_id,
                    timestamp=now,
                    properties={
                        "experiment": live.key,
                        "phase": live.phase,
                        "variant": live.variants[position].key,
                        "surface": "notification",
                    },
                )
            )
    analytics_services.track_many(events=events)


def sample_size_text(*, experiment: Experiment) -> str:
    """Return the users each variant needs to detect the experiment's minimum effect, in
    words for the set-up page, or what is missing to compute it."""
    mde, baseline = experiment.minimum_detectable_effect, experiment.baseline_value
    if not mde or not baseline:
        return "Set the minimum detectable effect and the baseline value to compute it."
    try:
        if experiment.baseline_stddev:
            needed = stats.sample_size_mean(
                mean=baseline,
                variance=experiment.baseline_stddev**2,
                relative_mde=mde,
                alpha=experiment.alpha,
                power=experiment.power,
            )
        else:
            if baseline >= 1:
                return "A conversion rate is below 1: set the baseline stddev for a mean metric."
            needed = stats.sample_size_binomial(
                baseline_rate=baseline, relative_mde=mde, alpha=experiment.alpha,
                power=experiment.power,
            )  # fmt: skip
    except ValueError as error:
        return f"Cannot compute it: {error}"
    arms = max(experiment.variants.count(), 2)
    return (
        f"{needed.per_variant:,} users per variant ({needed.per_variant * arms:,} in all, "
        f"{arms} variants) to detect a {mde:.1%} relative change with power "
        f"{experiment.power:.0%} at alpha {experiment.alpha:g}."
    )

"""Writes of results: each exposed subject's outcome on each metric, from raw events or
notification deliveries, and the stored analysis of every metric of an experiment."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from analytics import selectors as analytics_selectors
from notifications import selectors as notifications_selectors

from ..models import Cell, Experiment, Exposure, Metric, Outcome, Phase, Result
from . import bodies, selectors

logger = logging.getLogger(__name__)

Kind = Metric.Kind
BATCH = 5000
SEGMENTS = ("platform", "is_new", "country")


def experiment_metrics(experiment: Experiment) -> list[tuple[str, Metric]]:
    """Return (role, metric) of every metric of the experiment, each once, primary first."""
    seen: set[int] = set()
    out = []
    primary = [experiment.primary_metric] if experiment.primary_metric_id else []
    for role, metrics in (
        (Result.Role.PRIMARY, primary),
        (Result.Role.SECONDARY, experiment.secondary_metrics.order_by("name")),
        (Result.Role.GUARDRAIL, experiment.guardrail_metrics.order_by("name")),
    ):
        for metric in metrics:
            if metric.pk not in seen:
                seen.add(metric.pk)
                out.append((role, metric))
    return out


# An outcome: exposure id, value, pre-value, converted, denominator (a ratio's).
Row = tuple[int, float, float, bool, float]


def _event_totals(phase: Phase, metric: Metric, *, event: str, prop: str = ""):
    first, last = selectors.phase_exposure_span(phase=phase)
    if first is None:
        return []
    window = dt.timedelta(days=metric.window_days)
    subjects = Exposure.objects.filter(phase=phase).annotate(
        ref=F("id"), distinct_id=F("subject"), moment=F("exposed_at")
    )
    return analytics_selectors.event_totals_around(
        event=event,
        prop=prop,
        subjects=subjects,
        days=metric.window_days,
        since=first - window,
        until=last + window,
    )


def _event_outcomes(phase: Phase, metric: Metric) -> list[Row]:
    totals = _event_totals(phase, metric, event=metric.event, prop=metric.property)
    return [(t.ref, t.after, t.before, t.after > 0, 0.0) for t in totals if t.after or t.before]


def _ratio_outcomes(phase: Phase, metric: Metric) -> list[Row]:
    """A ratio's numerator (the event, or the sum of its property) and denominator (the
    denominator event's count) of each subject within the window after exposure."""
    numerators = {
        t.ref: t.after
        for t in _event_totals(phase, metric, event=metric.event, prop=metric.property)
        if t.after
    }
    denominators = {
        t.ref: t.after
        for t in _event_totals(phase, metric, event=metric.denominator_event)
        if t.after
    }
    return [
        (ref, numerators.get(ref, 0.0), 0.0, numerators.get(ref, 0.0) > 0, below)
        for ref, below in ((r, denominators.get(r, 0.0)) for r in numerators.keys() | denominators)
    ]


def _notification_outcomes(phase: Phase, metric: Metric) -> list[Row]:
    which = list(Metric.NotificationOutcome).index(metric.notification_outcome)
    outcomes = notifications_selectors.experiment_delivery_outcomes(
        experiment=phase.experiment.key, since=phase.started_at, until=phase.ended_at
    )
    done = [user_id for user_id, flags in outcomes.items() if flags[which]]
    if not done:
        return []
    exposures = Exposure.objects.filter(phase=phase, user_id__in=done).values_list("id", flat=True)
    return [(pk, 1.0, 0.0, True, 0.0) for pk in exposures.iterator(chunk_size=BATCH)]


def _outcomes_write(metric: Metric, rows: list[Row]) -> None:
    """Insert the rows: one COPY on PostgreSQL, where model instances and batched INSERTs
    cost about 3 s a hundred thousand rows; bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        Outcome.objects.bulk_create(
            [Outcome(exposure_id=e, metric=metric, value=v, pre_value=p, converted=c,
                     denominator=d)
             for e, v, p, c, d in rows],
            batch_size=BATCH,
        )  # fmt: skip
        return
    columns = "exposure_id, metric_id, value, pre_value, converted, denominator"
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.copy(f"COPY {Outcome._meta.db_table} ({columns}) FROM STDIN") as copy:
            for exposure_id, value, pre_value, converted, denominator in rows:
                copy.write_row((exposure_id, metric.pk, value, pre_value, converted, denominator))


@transaction.atomic
def outcomes_compute(*, phase: Phase, metric: Metric) -> int:
    """Replace the phase's outcomes of the metric by ones computed afresh; return how many
    subjects did something (the others have no row: they count as 0)."""
    if metric.kind == Kind.NOTIFICATION:
        rows = _notification_outcomes(phase, metric)
    elif metric.kind in (Kind.CONVERSION, Kind.MEAN) and metric.event:
        rows = _event_outcomes(phase, metric)
    elif metric.kind == Kind.RATIO and metric.event and metric.denominator_event:
        rows = _ratio_outcomes(phase, metric)
    else:
        return 0
    Outcome.objects.filter(exposure__phase=phase, metric=metric).delete()
    _outcomes_write(metric, rows)
    _cells_write(phase, metric)
    return len(rows)


def _cells_write(phase: Phase, metric: Metric) -> None:
    """Replace the phase's cells of the metric by the totals of the outcomes just written."""
    Cell.objects.filter(phase=phase, metric=metric).delete()
    Cell.objects.bulk_create(
        [
            Cell(phase=phase, metric=metric, **totals)
            for totals in selectors.cell_totals(phase=phase, metric_id=metric.pk)
        ],
        batch_size=BATCH,
    )


def results_compute(*, experiment: Experiment, phase: Phase | None = None) -> dict[str, int]:
    """(Re)compute the outcomes of every metric of the experiment in its latest (or given)
    phase; return how many subjects did something, by metric key. Idempotent."""
    phase = phase or selectors.phase_latest(experiment=experiment)
    if phase is None:
        return {}
    return {
        metric.key: outcomes_compute(phase=phase, metric=metric)
        for _, metric in experiment_metrics(experiment)
    }


def _settings(experiment: Experiment, phase: Phase) -> bodies.Settings:
    return bodies.Settings(
        names=tuple(v["key"] for v in phase.variants),
        weights=tuple(float(v["weight"]) for v in phase.variants),
        alpha=experiment.alpha,
        sequential_tuning=experiment.sequential_tuning,
        prior=(experiment.prior_mean, experiment.prior_stddev, experiment.prior_proper),
    )


def _result_body(phase: Phase, metric: Metric, role: str, settings: bodies.Settings) -> dict:
    out: dict = {
        "metric": {
            "key": metric.key,
            "name": metric.name,
            "kind": metric.kind,
            "higher_is_better": metric.higher_is_better,
        },
        "role": role,
        "unsupported": None,
    }
    kind = {Kind.MEAN: bodies.MEAN, Kind.RATIO: bodies.RATIO}.get(metric.kind, bodies.BINOMIAL)
    primary = role == Result.Role.PRIMARY
    totals = selectors.arm_totals_by(
        phase=phase, metric_id=metric.pk, by=(*SEGMENTS, "day") if primary else ()
    )
    arms = totals[None]
    out.update(bodies.analysis(arms, settings, kind), arms=bodies.arm_rows(arms, settings.names))
    if primary:
        out["segments"] = {
            field: bodies.segments(totals[field], settings, kind) for field in SEGMENTS
        }
        out["series"] = bodies.series(totals["day"], settings.names, kind)
    return out


def results_refresh(*, experiment: Experiment, phase: Phase | None = None) -> list[Result]:
    """Compute the outcomes of the experiment's latest (or given) phase, then analyse and
    store every metric's result (one row per phase and metric, replaced each time)."""
    phase = phase or selectors.phase_latest(experiment=experiment)
    if phase is None:
        return []
    results_compute(experiment=experiment, phase=phase)
    return results_analyse(experiment=experiment, phase=phase)


@transaction.atomic
def results_analyse(*, experiment: Experiment, phase: Phase | None = None) -> list[Result]:
    """Analyse every metric of the experiment's latest (or given) phase from its stored
    outcomes and store the results, without recomputing the outcomes."""
    phase = phase or selectors.phase_latest(experiment=experiment)
    if phase is None:
        return []
    settings = _settings(experiment, phase)
    stored = []
    for role, metric in experiment_metrics(experiment):
        result, _ = Result.objects.update_or_create(
            phase=phase,
            metric=metric,
            defaults={
                "experiment": experiment,
                "role": role,
                "computed_at": timezone.now(),
                "body": _result_body(phase, metric, role, settings),
            },
        )
        stored.append(result)
    Result.objects.filter(phase=phase).exclude(pk__in=[r.pk for r in stored]).delete()
    return stored

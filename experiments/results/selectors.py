"""Reads of results: the stored analyses, and the aggregates they are computed from (one
query each, grouped in the database; nothing here loops over exposures in Python): the
cells a computation of outcomes writes, and the same totals straight from the exposures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Count, F, FilteredRelation, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from ..models import Cell, Experiment, Exposure, Phase, Result
from .bodies import ArmTotals

ROLE_ORDER = {Result.Role.PRIMARY: 0, Result.Role.SECONDARY: 1, Result.Role.GUARDRAIL: 2}


def experiment_for_results(*, key: str) -> Experiment | None:
    """Return the experiment with its primary metric, or None."""
    return Experiment.objects.select_related("primary_metric").filter(key=key).first()


def phase_latest(*, experiment: Experiment) -> Phase | None:
    return Phase.objects.filter(experiment=experiment).order_by("-number").first()


def phase_numbered(*, experiment: Experiment, number: str | int | None) -> Phase | None:
    """Return the phase of that number (the latest when None); None when there is none, or
    the number is not a whole number."""
    if number is None:
        return phase_latest(experiment=experiment)
    try:
        number = int(number)
    except (TypeError, ValueError):
        return None
    return Phase.objects.filter(experiment=experiment, number=number).first()


def phase_numbers(*, experiment: Experiment) -> list[int]:
    phases = Phase.objects.filter(experiment=experiment).order_by("number")
    return list(phases.values_list("number", flat=True))


def phase_exposure_span(*, phase: Phase) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Return the earliest and latest exposure of the phase (None, None if none)."""
    span = Exposure.objects.filter(phase=phase).aggregate(
        first=Min("exposed_at"), last=Max("exposed_at")
    )
    return span["first"], span["last"]


def arm_totals(*, phase: Phase, metric_id: int, by: str | None = None) -> list[ArmTotals]:
    """Return the totals of a metric per variant of the phase (and per value of the exposure
    field or annotation `by`), in one query. Every exposure counts as a user; one without an
    outcome did nothing (0)."""
    return _totals(Exposure.objects.filter(phase=phase), metric_id, by)


def arm_totals_daily(*, phase: Phase, metric_id: int) -> list[ArmTotals]:
    """As arm_totals, grouped by the (UTC) day of exposure as well, in `group`."""
    exposures = Exposure.objects.filter(phase=phase).annotate(day=TruncDate("exposed_at"))
    return _totals(exposures, metric_id, "day")


def _with_outcomes(exposures: QuerySet, metric_id: int) -> QuerySet:
    return exposures.annotate(
        o=FilteredRelation("outcomes", condition=Q(outcomes__metric=metric_id))
    )


def _sums() -> dict:
    """The aggregates of ArmTotals over exposures and their outcomes (`o`): every exposure
    counts as a user; one without an outcome did nothing (0)."""
    value, pre, below = F("o__value"), F("o__pre_value"), F("o__denominator")
    return {
        "users": Count("id"),
        "converted": Count("o__id", filter=Q(o__value__gt=0)),
        "total": Coalesce(Sum(value), 0.0),
        "squares": Coalesce(Sum(value * value), 0.0),
        "pre_converted": Count("o__id", filter=Q(o__pre_value__gt=0)),
        "pre_total": Coalesce(Sum(pre), 0.0),
        "pre_squares": Coalesce(Sum(pre * pre), 0.0),
        "cross": Coalesce(Sum(value * pre), 0.0),
        "both_converted": Count("o__id", filter=Q(o__value__gt=0, o__pre_value__gt=0)),
        "denominator_total": Coalesce(Sum(below), 0.0),
        "denominator_squares": Coalesce(Sum(below * below), 0.0),
        "products": Coalesce(Sum(value * below), 0.0),
    }


# What a cell holds of ArmTotals, with each figure's type; the segment of a cell.
CELL_SUMS = list(_sums())
_KINDS = [int if name in ("users", "converted", "pre_converted", "both_converted") else float
          for name in CELL_SUMS]  # fmt: skip
SEGMENT_FIELDS = ("platform", "country", "is_new", "day")


def _totals(exposures: QuerySet, metric_id: int, by: str | None) -> list[ArmTotals]:
    fields = ["variant"] + ([by] if by else [])
    rows = (
        _with_outcomes(exposures, metric_id).values(*fields).annotate(**_sums()).order_by(*fields)
    )
    return [
        ArmTotals(
            variant=row["variant"],
            group=row.get(by) if by else None,
            **{name: kind(row[name]) for name, kind in zip(CELL_SUMS, _KINDS, strict=True)},
        )
        for row in rows
    ]


def cell_totals(*, phase: Phase, metric_id: int) -> list[dict]:
    """Return the totals of each cell of the phase and metric (variant, platform, country,
    new or not, day of exposure), from the exposures and their outcomes, in one query."""
    exposures = Exposure.objects.filter(phase=phase).annotate(day=TruncDate("exposed_at"))
    return list(
        _with_outcomes(exposures, metric_id)
        .values("variant", *SEGMENT_FIELDS)
        .annotate(**_sums())
        .order_by()
    )


def arm_totals_by(
    *, phase: Phase, metric_id: int, by: Sequence[str]
) -> dict[str | None, list[ArmTotals]]:
    """Return arm_totals of the phase overall (under None) and by each of `by` (exposure
    fields, or "day" as arm_totals_daily), from the cells the last outcome computation
    wrote: one query of a few hundred rows, whatever the number of exposures."""
    levels: dict[str | None, dict[tuple, list]] = {None: {}, **{field: {} for field in by}}
    for cell in Cell.objects.filter(phase=phase, metric_id=metric_id).values(
        "variant", *SEGMENT_FIELDS, *CELL_SUMS
    ):
        figures = [cell[name] for name in CELL_SUMS]
        for field in (None, *by):
            key = (cell["variant"],) if field is None else (cell["variant"], cell[field])
            into = levels[field].setdefault(key, [0] * len(figures))
            for i, x in enumerate(figures):
                into[i] += x
    return {
        field: [
            ArmTotals(
                variant=key[0],
                group=key[1] if field else None,
                **{name: kind(x) for name, kind, x in zip(CELL_SUMS, _KINDS, t, strict=True)},
            )
            for key, t in sorted(rows.items(), key=lambda item: (item[0][0], str(item[0][1:])))
        ]
        for field, rows in levels.items()
    }


def exposure_daily(*, phase: Phase) -> list[tuple[dt.date, int, int]]:
    """Return (day, variant position, exposures) of the phase, by day, in one query."""
    rows = (
        Exposure.objects.filter(phase=phase)
        .annotate(day=TruncDate("exposed_at"))
        .values_list("day", "variant")
        .annotate(n=Count("id"))
        .order_by("day", "variant")
    )
    return list(rows)


def results_latest(*, experiment: Experiment, phase: Phase | None = None) -> list[Result]:
    """Return the stored results of the experiment's latest (or given) phase: the primary
    metric first, then the secondary and the guardrail metrics, each by name."""
    phase_filter = {"phase": phase} if phase else {"phase__number": _latest_number(experiment)}
    results = Result.objects.filter(experiment=experiment, **phase_filter).select_related("metric")
    return sorted(results, key=lambda r: (ROLE_ORDER.get(r.role, 9), r.metric.name))


def _latest_number(experiment: Experiment):
    return Phase.objects.filter(experiment=experiment).order_by("-number").values("number")[:1]


def experiment_running_keys() -> list[str]:
    """Return the keys of the running experiments, whose results beat refreshes."""
    return list(
        Experiment.objects.filter(status=Experiment.Status.RUNNING)
        .order_by("key")
        .values_list("key", flat=True)
    )

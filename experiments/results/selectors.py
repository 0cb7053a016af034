"""Reads of results: the stored analyses, and the aggregates they are computed from (one
query each, grouped in the database; nothing here loops over exposures in Python)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection
from django.db.models import Count, F, FilteredRelation, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ..models import Experiment, Exposure, Outcome, Phase, Result
from .bodies import ArmTotals

ROLE_ORDER = {Result.Role.PRIMARY: 0, Result.Role.SECONDARY: 1, Result.Role.GUARDRAIL: 2}


def experiment_for_results(*, key: str) -> Experiment | None:
    """Return the experiment with its primary metric, or None."""
    return Experiment.objects.select_related("primary_metric").filter(key=key).first()


def phase_latest(*, experiment: Experiment) -> Phase | None:
    return Phase.objects.filter(experiment=experiment).order_by("-number").first()


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


def arm_totals_by(
    *, phase: Phase, metric_id: int, by: Sequence[str]
) -> dict[str | None, list[ArmTotals]]:
    """Return arm_totals of the phase overall (under None) and by each of `by`: exposure
    fields, or "day" as arm_totals_daily. On PostgreSQL in one query (grouping sets: the
    exposures and outcomes are read once, not once a breakdown), elsewhere one each."""
    if connection.vendor != "postgresql" or not by:
        return {
            None: arm_totals(phase=phase, metric_id=metric_id),
            **{
                field: arm_totals_daily(phase=phase, metric_id=metric_id)
                if field == "day"
                else arm_totals(phase=phase, metric_id=metric_id, by=field)
                for field in by
            },
        }
    quote = connection.ops.quote_name
    columns, params = [], []
    for field in by:
        if field == "day":  # as TruncDate, in the current time zone
            columns.append("(x.exposed_at AT TIME ZONE %s)::date")
            params.append(timezone.get_current_timezone_name())
        else:
            columns.append(f"x.{quote(Exposure._meta.get_field(field).column)}")
    keys = ", ".join(f"{c} AS g{i}" for i, c in enumerate(columns))
    names = ", ".join(f"g{i}" for i in range(len(by)))
    sets = ", ".join(["(variant)", *(f"(variant, g{i})" for i in range(len(by)))])
    # Totals of each combination first (a parallel aggregate of the exposures and their
    # outcomes), then the grouping sets over those few rows: sums of sums are the sums.
    sql = (
        f"SELECT GROUPING({names}) AS level, variant, {names}, SUM(users), SUM(converted), "
        "COALESCE(SUM(total), 0), COALESCE(SUM(squares), 0), SUM(pre_converted), "
        "COALESCE(SUM(pre_total), 0), COALESCE(SUM(pre_squares), 0), COALESCE(SUM(cross_), 0), "
        "SUM(both_converted) "
        f"FROM (SELECT x.variant, {keys}, COUNT(*) AS users, "
        "COUNT(o.id) FILTER (WHERE o.value > 0) AS converted, SUM(o.value) AS total, "
        "SUM(o.value * o.value) AS squares, "
        "COUNT(o.id) FILTER (WHERE o.pre_value > 0) AS pre_converted, "
        "SUM(o.pre_value) AS pre_total, SUM(o.pre_value * o.pre_value) AS pre_squares, "
        "SUM(o.value * o.pre_value) AS cross_, "
        "COUNT(o.id) FILTER (WHERE o.value > 0 AND o.pre_value > 0) AS both_converted "
        f"FROM {quote(Exposure._meta.db_table)} x "
        f"LEFT JOIN {quote(Outcome._meta.db_table)} o "
        "ON o.exposure_id = x.id AND o.metric_id = %s WHERE x.phase_id = %s "
        f"GROUP BY x.variant, {names}) AS combinations "
        f"GROUP BY GROUPING SETS ({sets}) ORDER BY level DESC, variant, {names}"
    )
    # GROUPING() has a bit set for each column left out: all of them for the overall row.
    level_of = {(1 << len(by)) - 1: None}
    level_of.update({(1 << len(by)) - 1 - (1 << (len(by) - 1 - i)): f for i, f in enumerate(by)})
    out: dict[str | None, list[ArmTotals]] = {None: [], **{field: [] for field in by}}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, metric_id, phase.pk])
        for level, variant, *row in cursor:
            field = level_of[level]
            t = row[len(by) :]
            out[field].append(
                ArmTotals(
                    variant=variant,
                    group=row[by.index(field)] if field else None,
                    users=int(t[0]),
                    converted=int(t[1]),
                    total=float(t[2]),
                    squares=float(t[3]),
                    pre_converted=int(t[4]),
                    pre_total=float(t[5]),
                    pre_squares=float(t[6]),
                    cross=float(t[7]),
                    both_converted=int(t[8]),
                )
            )
    return out


def _totals(exposures: QuerySet, metric_id: int, by: str | None) -> list[ArmTotals]:
    fields = ["variant"] + ([by] if by else [])
    value, pre = F("o__value"), F("o__pre_value")
    rows = (
        exposures.annotate(o=FilteredRelation("outcomes", condition=Q(outcomes__metric=metric_id)))
        .values(*fields)
        .annotate(
            users=Count("id"),
            converted=Count("o__id", filter=Q(o__value__gt=0)),
            total=Coalesce(Sum(value), 0.0),
            squares=Coalesce(Sum(value * value), 0.0),
            pre_converted=Count("o__id", filter=Q(o__pre_value__gt=0)),
            pre_total=Coalesce(Sum(pre), 0.0),
            pre_squares=Coalesce(Sum(pre * pre), 0.0),
            cross=Coalesce(Sum(value * pre), 0.0),
            both_converted=Count("o__id", filter=Q(o__value__gt=0, o__pre_value__gt=0)),
        )
        .order_by(*fields)
    )
    return [
        ArmTotals(
            variant=row["variant"],
            group=row.get(by) if by else None,
            users=row["users"],
            converted=row["converted"],
            total=float(row["total"]),
            squares=float(row["squares"]),
            pre_converted=row["pre_converted"],
            pre_total=float(row["pre_total"]),
            pre_squares=float(row["pre_squares"]),
            cross=float(row["cross"]),
            both_converted=row["both_converted"],
        )
        for row in rows
    ]


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

"""Who is active, who converts, who comes back: active users, funnels, retention."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, FilteredRelation, Q, Value
from django.db.models.fields.json import KT
from django.db.models.functions import TruncMonth, TruncWeek

from mysetlist.core.exceptions import ApplicationError

from ..funnel import (
    Cohort,
    FunnelStep,
    funnel_steps,
    period_add,
    period_index,
    period_start,
    steps_from_counts,
    steps_reached,
)
from ..models import DailyUserStats, Event, Person, PersonActivity
from ..rollups import events_with_person


@dataclass(frozen=True)
class ActiveUsers:
    day: dt.date
    dau: int
    wau: int
    mau: int

    @property
    def stickiness(self) -> float:
        return round(self.dau / self.mau, 4) if self.mau else 0.0


def active_users(*, first_day: dt.date, last_day: dt.date) -> list[ActiveUsers]:
    """For each UTC day: distinct persons with any event that day (DAU), in the 7 days ending
    that day (WAU), and in the 30 days ending that day (MAU); stickiness is DAU / MAU."""
    if last_day < first_day:
        raise ApplicationError(
            "date_to is before date_from.", {"fields": {"date_to": ["Too early."]}}
        )
    if (last_day - first_day).days > 366:
        raise ApplicationError("At most a year of days.", {"fields": {"date_from": ["Too early."]}})
    rows = DailyUserStats.objects.filter(
        day__gte=first_day - dt.timedelta(days=29), day__lte=last_day
    ).values_list("day", "person")
    persons_by_day: dict[dt.date, set[str]] = defaultdict(set)
    for day, person in rows:
        persons_by_day[day].add(person)

    def window(day: dt.date, days: int) -> int:
        seen: set[str] = set()
        for offset in range(days):
            seen |= persons_by_day.get(day - dt.timedelta(days=offset), set())
        return len(seen)

    result, day = [], first_day
    while day <= last_day:
        result.append(
            ActiveUsers(day, len(persons_by_day.get(day, ())), window(day, 7), window(day, 30))
        )
        day += dt.timedelta(days=1)
    return result


def _funnel_bounds(
    steps: list[str], window: dt.timedelta, start: dt.datetime, end: dt.datetime
) -> None:
    if not 2 <= len(steps) <= 10:
        raise ApplicationError("A funnel has 2 to 10 steps.", {"fields": {"steps": ["2 to 10."]}})
    if end < start or end - start > dt.timedelta(days=93) or window > dt.timedelta(days=90):
        raise ApplicationError(
            "Use a range of at most 93 days and a window of at most 90.",
            {"fields": {"date_to": ["Out of range."]}},
        )


def funnel(
    *,
    steps: list[str],
    window: dt.timedelta,
    start: dt.datetime,
    end: dt.datetime,
    breakdown: str | None = None,
) -> dict[str | None, list[FunnelStep]]:
    """Persons who did the steps in order, each after the one before and all within `window`
    of a first step done between start and end; per step, how many got that far, the share
    of the first step's persons and of the previous step's, and how many dropped off there.
    With a breakdown, one funnel per value of that property on the person's first step."""
    _funnel_bounds(steps, window, start, end)
    events = events_with_person(
        Event.objects.filter(
            event__in=set(steps), timestamp__gte=start, timestamp__lte=end + window
        )
    )
    columns = ["person", "timestamp", "event"]
    if breakdown:
        events = events.annotate(split=KT(f"properties__{breakdown}"))
        columns.append("split")
    times: dict[str, list] = defaultdict(list)
    split_of: dict[str, str | None] = {}
    for row in events.order_by("person", "timestamp").values_list(*columns):
        person, moment, name = row[:3]
        times[person].append((moment, name))
        if breakdown and name == steps[0] and start <= moment <= end and person not in split_of:
            split_of[person] = None if row[3] is None else str(row[3])
    reached: dict[str | None, list[int]] = defaultdict(list)
    for person, person_times in times.items():
        got = steps_reached(person_times, steps, window, start, end)
        if got:
            reached[split_of.get(person) if breakdown else None].append(got)
    if not reached:
        reached[None] = []
    return {split: funnel_steps(counts, steps) for split, counts in reached.items()}


def funnel_first_time(
    *, steps: list[str], window: dt.timedelta, start: dt.datetime, end: dt.datetime
) -> list[FunnelStep]:
    """Each person's first time ever doing each step, as the day rollups keep it: persons
    whose first step-1 event fell between start and end; of them, per later step, those whose
    first time doing it came after their first time doing the step before, all within
    `window` of the first step. Each event may be a step once. An onboarding funnel: it
    answers from the person tables."""
    _funnel_bounds(steps, window, start, end)
    if len(set(steps)) < len(steps):
        # A person has one first time per event: a repeated step could never be reached.
        raise ApplicationError(
            "A first-time funnel names each event once.",
            {"fields": {"steps": ["Each event once in mode=first_time."]}},
        )
    joins = {
        f"s{k}": FilteredRelation("first_events", condition=Q(first_events__event=step))
        for k, step in enumerate(steps)
    }
    persons = Person.objects.annotate(**joins).filter(
        s0__first_at__gte=start, s0__first_at__lte=end
    )
    reached, condition = {"n0": Count("id")}, Q()
    for k in range(1, len(steps)):
        condition &= Q(**{f"s{k}__first_at__gt": F(f"s{k - 1}__first_at")}) & Q(
            **{f"s{k}__first_at__lte": F("s0__first_at") + Value(window)}
        )
        reached[f"n{k}"] = Count("id", filter=condition)
    counts = persons.aggregate(**reached)
    return steps_from_counts([counts[f"n{k}"] for k in range(len(steps))], steps)


def retention(
    *,
    period: str,
    periods: int,
    first_day: dt.date,
    last_day: dt.date,
    cohort_by: str = "first_seen",
    returning_event: str | None = None,
) -> list[Cohort]:
    """Cohorts of persons by the week or month they were first seen (any event) or signed up,
    from first_day to last_day; for each cohort, how many were active again in each of the
    following periods, on any event or on `returning_event` only. Period 0 is the cohort's.
    Read from the person tables the day rollups keep, so today counts up to the last run."""
    if last_day < first_day or (last_day - first_day).days > 366:
        raise ApplicationError(
            "Use a range of at most a year.", {"fields": {"date_to": ["Out of range."]}}
        )
    entered = "signed_up" if cohort_by == "signup" else "first_seen"
    cohort = TruncWeek if period == "week" else TruncMonth
    in_range = {f"{entered}__gte": first_day, f"{entered}__lte": last_day}
    sizes = dict(
        Person.objects.filter(**in_range)
        .annotate(cohort=cohort(entered))
        .values("cohort")
        .annotate(n=Count("id"))
        .values_list("cohort", "n")
    )
    active = (
        PersonActivity.objects.filter(
            period=period,
            event=returning_event or "",
            start__gte=period_start(first_day, period),
            start__lt=period_add(period_start(last_day, period), period, periods),
            **{f"person__{name}": value for name, value in in_range.items()},
        )
        .annotate(cohort=cohort(f"person__{entered}"))
        .values("cohort", "start")
        .annotate(n=Count("person"))  # person_id, unlike id, is in the unique index
        .values_list("cohort", "start", "n")
    )
    returning = {start: [0] * periods for start in sizes}
    for start, active_start, n in active:
        k = period_index(start, active_start, period)
        # A cohort the day job started between the two reads waits for the next request.
        if start in returning and 0 <= k < periods:
            returning[start][k] = n
    return [Cohort(start, sizes[start], returning[start]) for start in sorted(sizes)]

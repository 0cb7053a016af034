"""Who is active, who converts, who comes back: active users, funnels, retention."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Min
from django.db.models.fields.json import KT
from django.db.models.functions import Trunc

from mysetlist.core.exceptions import ApplicationError

from ..funnel import Cohort, FunnelStep, cohorts, funnel_steps, steps_reached
from ..models import DailyUserStats, Event
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
    if not 2 <= len(steps) <= 10:
        raise ApplicationError("A funnel has 2 to 10 steps.", {"fields": {"steps": ["2 to 10."]}})
    if end < start or end - start > dt.timedelta(days=93) or window > dt.timedelta(days=90):
        raise ApplicationError(
            "Use a range of at most 93 days and a window of at most 90.",
            {"fields": {"date_to": ["Out of range."]}},
        )
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
    following periods, on any event or on `returning_event` only. Period 0 is the cohort's."""
    if last_day < first_day or (last_day - first_day).days > 366:
        raise ApplicationError(
            "Use a range of at most a year.", {"fields": {"date_to": ["Out of range."]}}
        )
    if cohort_by == "signup":
        entered_rows = (
            events_with_person(Event.objects.filter(event="signed_up"))
            .annotate(day=Trunc("timestamp", "day", tzinfo=dt.UTC))
            .values("person")
            .annotate(first=Min("day"))
            .values_list("person", "first")
        )
        entered = {p: d.date() for p, d in entered_rows}
    else:
        entered = dict(
            DailyUserStats.objects.values("person")
            .annotate(first=Min("day"))
            .values_list("person", "first")
        )
    entered = {p: d for p, d in entered.items() if first_day <= d <= last_day}
    horizon = last_day + dt.timedelta(days=(7 if period == "week" else 31) * periods)
    if returning_event:
        rows = (
            events_with_person(
                Event.objects.filter(
                    event=returning_event,
                    timestamp__gte=dt.datetime.combine(first_day, dt.time(), dt.UTC),
                    timestamp__lt=dt.datetime.combine(horizon, dt.time(), dt.UTC),
                )
            )
            .annotate(day=Trunc("timestamp", "day", tzinfo=dt.UTC))
            .values_list("person", "day")
            .distinct()
        )
        active = [(p, d.date()) for p, d in rows]
    else:
        active = DailyUserStats.objects.filter(day__gte=first_day, day__lt=horizon).values_list(
            "person", "day"
        )
    active_days: dict[str, set[dt.date]] = defaultdict(set)
    for person, day in active:
        if person in entered:
            active_days[person].add(day)
    return cohorts(entered=entered, active_days=active_days, period=period, periods=periods)

"""Funnels: in sequence (any attempt, from the timeline) and first time (person tables)."""

import datetime as dt
from collections import defaultdict

import numpy as np
from django.db.models import Count, F, FilteredRelation, Q, Value

from analytics.maths.funnels import (
    FunnelStep,
    funnel_steps,
    sequence_counts,
    steps_from_counts,
    steps_reached,
)
from analytics.metrics.breakdowns import breakdown_value
from analytics.models import Event, Person
from analytics.rollups.people import events_with_person
from analytics.rollups.timeline import MICROSECOND, micros
from analytics.selectors import timeline_events
from mysetlist.core.exceptions import ApplicationError


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


def _sequence_counts(
    steps: list[str], window: dt.timedelta, start: dt.datetime, end: dt.datetime
) -> list[int]:
    names = sorted(set(steps))
    events = timeline_events(start=start, end=end + window, names=names)
    person, at, code = events.person, events.at, events.code
    # Bit k of an event's mask: it can be step k (an event may be several steps).
    masks = np.array(
        [sum(1 << k for k, step in enumerate(steps) if step == name) for name in names],
        dtype=np.int64,
    )
    return sequence_counts(person, at, masks[code], steps=len(steps),
                           window=window // MICROSECOND, end=micros(end))  # fmt: skip


def _breakdown(
    steps: list[str], window: dt.timedelta, start: dt.datetime, end: dt.datetime, breakdown: str
) -> dict[str | None, list[FunnelStep]]:
    """The funnel split by a property or context key of each person's first step-1 event,
    from raw events; persons whose first step-1 event has none are the split None."""
    events = events_with_person(
        Event.objects.filter(
            event__in=set(steps), timestamp__gte=start, timestamp__lte=end + window
        )
    ).annotate(split=breakdown_value(breakdown))
    times: dict[str, list] = defaultdict(list)
    split_of: dict[str, str | None] = {}
    rows = events.order_by("person", "timestamp").values_list(
        "person", "timestamp", "event", "split"
    )
    for person, moment, name, split in rows:
        times[person].append((moment, name))
        if name == steps[0] and start <= moment <= end and person not in split_of:
            split_of[person] = None if split is None else str(split)
    reached: dict[str | None, list[int]] = defaultdict(list)
    for person, person_times in times.items():
        got = steps_reached(person_times, steps, window, start, end)
        if got:
            reached[split_of.get(person)].append(got)
    if not reached:
        reached[None] = []
    return {split: funnel_steps(counts, steps) for split, counts in reached.items()}


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
    Read from the timeline the minute rollups keep (so, as in every rollup, events that
    arrive more than ANALYTICS_ROLLUP_LATENESS_HOURS late count after a rebuild). With a
    breakdown, one funnel per value of that property or context key on the person's first
    step (None where it has none), read from raw events."""
    _funnel_bounds(steps, window, start, end)
    if breakdown:
        return _breakdown(steps, window, start, end, breakdown)
    return {None: steps_from_counts(_sequence_counts(steps, window, start, end), steps)}


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

"""Funnel and retention arithmetic over per-person event times and periods. Pure Python
and numpy."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FunnelStep:
    event: str
    persons: int
    conversion_from_first: float  # 0..1
    conversion_from_previous: float
    dropped: int  # persons who reached the previous step but not this one


def steps_reached(
    times: list[tuple[dt.datetime, str]],
    steps: list[str],
    window: dt.timedelta,
    start: dt.datetime,
    end: dt.datetime,
) -> int:
    """How far one person got: the most steps done in order, each after the one before, all
    within `window` of a first step done between start and end. `times` is sorted."""
    best = 0
    for i, (first_time, name) in enumerate(times):
        if name != steps[0] or not start <= first_time <= end:
            continue
        reached, last = 1, first_time
        for moment, later in times[i + 1 :]:
            if reached == len(steps) or moment - first_time > window:
                break
            if later == steps[reached] and moment > last:
                reached, last = reached + 1, moment
        best = max(best, reached)
        if best == len(steps):
            break
    return best


def sequence_counts(
    person: np.ndarray, at: np.ndarray, mask: np.ndarray, *, steps: int, window: int, end: int
) -> list[int]:
    """For each step, how many persons got at least that far; steps_reached for every person
    at once. One row per event in any order: the person's number, its time `at` (integers,
    such as microseconds), and `mask`, whose bit k says the event can be step k. The rows
    must be those between the range's start and `end` + `window`; a first step must be no
    later than `end`.

    Rows are sorted by person and time. Level k keeps, on each row that can be step k, the
    latest first step of a chain of steps 0..k ending there (the latest leaves the most of
    the window): the latest kept at level k - 1 on any strictly earlier row of the person,
    when this row is within `window` of it. A person got k + 1 steps far when some row has
    a chain at level k. First steps are kept as the index of their row's moment, a group of
    rows of one person and time: later moments of a person have higher indexes, and every
    person's indexes are above the persons' before, so one running maximum over all the
    moments serves every person.
    """
    if not len(at):
        return [0] * steps
    order = np.lexsort((at, person))
    person, at, mask = person[order], at[order], mask[order]
    new_person = np.empty(len(at), dtype=bool)
    new_person[0] = True
    np.not_equal(person[1:], person[:-1], out=new_person[1:])
    new_moment = new_person.copy()
    new_moment[1:] |= at[1:] != at[:-1]
    moment = np.cumsum(new_moment) - 1  # each row's moment
    moment_row = np.flatnonzero(new_moment)  # each moment's first row
    person_index = np.cumsum(new_person) - 1
    # For each moment, the first moment of its person: earlier ones belong to others.
    persons_first = np.flatnonzero(new_person[moment_row])[person_index[moment_row]]
    none = np.int64(-1)

    chain = np.where((mask & 1).astype(bool) & (at <= end), moment, none)
    reached = np.zeros(person_index[-1] + 1, dtype=bool)
    reached[person_index[chain >= 0]] = True
    counts = [int(reached.sum())]
    for k in range(1, steps):
        best = np.maximum.reduceat(chain, moment_row)  # latest first step, per moment
        before = np.empty_like(best)  # ... on any strictly earlier moment
        before[0] = none
        np.maximum.accumulate(best[:-1], out=before[1:])
        before[before < persons_first] = none
        latest = before[moment]
        fits = (mask >> k & 1).astype(bool) & (latest >= 0)
        fits &= at - at[moment_row[np.maximum(latest, 0)]] <= window
        chain = np.where(fits, latest, none)
        reached[:] = False
        reached[person_index[fits]] = True
        counts.append(int(reached.sum()))
    return counts


def funnel_steps(reached: Iterable[int], steps: list[str]) -> list[FunnelStep]:
    """Turn how far each person got into per-step counts and conversions."""
    counts = [0] * len(steps)
    for n in reached:
        for k in range(n):
            counts[k] += 1
    return steps_from_counts(counts, steps)


def steps_from_counts(counts: list[int], steps: list[str]) -> list[FunnelStep]:
    """Per-step conversions and drop-offs from how many persons reached each step."""
    result = []
    for k, event in enumerate(steps):
        previous = counts[k - 1] if k else counts[0]
        result.append(
            FunnelStep(
                event=event,
                persons=counts[k],
                conversion_from_first=round(counts[k] / counts[0], 4) if counts[0] else 0.0,
                conversion_from_previous=round(counts[k] / previous, 4) if previous else 0.0,
                dropped=previous - counts[k] if k else 0,
            )
        )
    return result


def period_start(day: dt.date, period: str) -> dt.date:
    """Monday of the day's ISO week, or the first of its month."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def period_add(start: dt.date, period: str, n: int) -> dt.date:
    """The start of the period n periods after the one starting at `start`."""
    if period == "week":
        return start + dt.timedelta(weeks=n)
    months = start.year * 12 + start.month - 1 + n
    return dt.date(months // 12, months % 12 + 1, 1)


def period_index(cohort: dt.date, day: dt.date, period: str) -> int:
    if period == "week":
        return (period_start(day, "week") - cohort).days // 7
    return (day.year - cohort.year) * 12 + day.month - cohort.month


@dataclass(frozen=True)
class Cohort:
    start: dt.date
    size: int
    returning: list[int]  # persons active in period 0 (the cohort itself), 1, 2, ...

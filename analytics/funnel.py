"""Funnel and retention arithmetic over per-person event times and periods. Pure Python."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


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

"""Who is active and who comes back: active users and retention."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count

from analytics.maths.funnels import (
    Cohort,
    period_add,
    period_index,
    period_start,
)
from analytics.models import Person, PersonActivity, PlatformMetric
from analytics.rollups.people import ACTIVE_NAMES, active_windows
from mysetlist.core.exceptions import ApplicationError


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
    that day (WAU), and in the 30 days ending that day (MAU); stickiness is DAU / MAU, a
    share from 0 to 1 rounded to 4 places (0 when MAU is). Read from the platform metrics the
    day rollups store (so today counts up to the last run); days without them (no events
    since, or older than the windows' first pass) are counted from the daily user stats."""
    if last_day < first_day:
        raise ApplicationError(
            "date_to is before date_from.", {"fields": {"date_to": ["Too early."]}}
        )
    if (last_day - first_day).days > 366:
        raise ApplicationError("At most a year of days.", {"fields": {"date_from": ["Too early."]}})
    stored: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for day, name, value in PlatformMetric.objects.filter(
        day__gte=first_day, day__lte=last_day, name__in=ACTIVE_NAMES
    ).values_list("day", "name", "value"):
        stored[day][name] = value
    days = [first_day + dt.timedelta(days=k) for k in range((last_day - first_day).days + 1)]
    missing = [day for day in days if len(stored[day]) < len(ACTIVE_NAMES)]
    counted = active_windows(missing[0], missing[-1]) if missing else {}
    result = []
    for day in days:
        if day in counted:
            result.append(ActiveUsers(day, *counted[day]))
        else:
            result.append(ActiveUsers(day, *(stored[day][name] for name in ACTIVE_NAMES)))
    return result


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
    following periods, on any event or on `returning_event` only; counts, not shares.
    Periods are UTC weeks from Monday or calendar months. Period 0 is the cohort's own
    period: without `returning_event` it is the whole cohort (every member was active when
    they entered it); with one, the members who did that event at any time in the period,
    before entering the cohort too (a page view before signing up, the same week), so it may
    be under the cohort's size. Read from the person tables the day rollups keep, so today
    counts up to the last run."""
    if last_day < first_day or (last_day - first_day).days > 366:
        raise ApplicationError(
            "Use a range of at most a year.", {"fields": {"date_to": ["Out of range."]}}
        )
    entered = "signed_up" if cohort_by == "signup" else "first_seen"
    in_range = {f"{entered}__gte": first_day, f"{entered}__lte": last_day}
    # Counted by day in the database and folded into weeks or months here: truncating each
    # of some hundred thousand joined rows cost the database more than the join.
    sizes: dict[dt.date, int] = defaultdict(int)
    for day, n in (
        Person.objects.filter(**in_range)
        .values(entered)
        .annotate(n=Count("id"))
        .values_list(entered, "n")
    ):
        sizes[period_start(day, period)] += n
    active = (
        PersonActivity.objects.filter(
            period=period,
            event=returning_event or "",
            start__gte=period_start(first_day, period),
            start__lt=period_add(period_start(last_day, period), period, periods),
            **{f"person__{name}": value for name, value in in_range.items()},
        )
        .values(f"person__{entered}", "start")
        .annotate(n=Count("person"))  # person_id, unlike id, is in the unique index
        .values_list(f"person__{entered}", "start", "n")
    )
    returning = {start: [0] * periods for start in sizes}
    for day, active_start, n in active:
        start = period_start(day, period)
        k = period_index(start, active_start, period)
        # A cohort the day job started between the two reads waits for the next request.
        if start in returning and 0 <= k < periods:
            returning[start][k] += n
    return [Cohort(start, sizes[start], returning[start]) for start in sorted(sizes)]

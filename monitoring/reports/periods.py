"""The period a report covers: a UTC day, a week from Monday or a calendar month. Pure
Python."""

from __future__ import annotations

import datetime as dt

DAILY, WEEKLY, MONTHLY, NOTIFICATIONS = "daily", "weekly", "monthly", "notifications"
KINDS = (DAILY, WEEKLY, MONTHLY, NOTIFICATIONS)


def _month_next(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_of(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """Return the period of `kind` that holds `day`: (first day, day after the last)."""
    if kind == DAILY:
        return day, day + dt.timedelta(days=1)
    if kind in (WEEKLY, NOTIFICATIONS):
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=7)
    if kind == MONTHLY:
        first = day.replace(day=1)
        return first, _month_next(first)
    raise ValueError(f"Unknown report kind {kind!r}; the kinds are {', '.join(KINDS)}.")


def period_last_complete(kind: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the latest period of `kind` that is over on `today` (yesterday, last week,
    last month): what beat reports on."""
    start, _ = period_of(kind, today)
    return period_of(kind, start - dt.timedelta(days=1))


def moments(period: tuple[dt.date, dt.date]) -> tuple[dt.datetime, dt.datetime]:
    """Return a period of days as UTC midnights."""
    return tuple(dt.datetime.combine(day, dt.time(), dt.UTC) for day in period)

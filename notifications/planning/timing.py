"""When a notification may go out, by a user's preferences. Pure Python.

Quiet hours are local wall-clock times in the user's timezone: a window from `start` to `end`
that may wrap midnight (22:00 to 07:00). Something due inside the window is held until the
window ends, found on the local calendar, so the hold follows daylight-saving changes. A
digest goes at `hour` local time, daily or on Mondays for weekly.
"""

import datetime as dt
from zoneinfo import ZoneInfo


def _at(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The instant the local clock in `zone` first reads `time` on `day`, in UTC: the
    earlier of a time that happens twice, and the first instant after a spring-forward gap
    for a time that never happens."""
    naive = dt.datetime.combine(day, time)
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    return _first_after_gap(day, time, zone)


def _first_after_gap(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """Scan forward a minute at a time from `time` until the local clock exists again."""
    naive = dt.datetime.combine(day, time)
    for minutes in range(1, 181):
        later = naive + dt.timedelta(minutes=minutes)
        instant = later.replace(tzinfo=zone).astimezone(dt.UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == later:
            return instant
    raise ValueError(f"no local time after {naive} in {zone}")


def in_quiet_hours(local_time: dt.time, start: dt.time, end: dt.time) -> bool:
    """Whether a local wall-clock time falls in [start, end), a window that may wrap
    midnight. start == end means no quiet hours."""
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def quiet_hours_end(
    moment: dt.datetime, zone: ZoneInfo, start: dt.time | None, end: dt.time | None
) -> dt.datetime:
    """`moment` if it is outside the user's quiet hours, else the UTC instant they end."""
    if start is None or end is None:
        return moment
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return moment
    day = local.date()
    if start > end and local.time() >= start:  # in the evening part: ends tomorrow
        day += dt.timedelta(days=1)
    return _at(day, end, zone)


def next_local_day(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant the user's next local day begins."""
    return _at(moment.astimezone(zone).date() + dt.timedelta(days=1), dt.time(0), zone)


def next_digest(moment: dt.datetime, zone: ZoneInfo, *, weekly: bool, hour: int) -> dt.datetime:
    """The first digest time after `moment`: `hour` o'clock local, daily or on Mondays."""
    local = moment.astimezone(zone)
    day = local.date()
    while True:
        if not weekly or day.weekday() == 0:
            when = _at(day, dt.time(hour), zone)
            if when > moment:
                return when
        day += dt.timedelta(days=1)


def next_open_hour(
    moment: dt.datetime,
    zone: ZoneInfo,
    hours: frozenset[int] | set[int],
    *,
    latest: dt.datetime,
    quiet_start: dt.time | None = None,
    quiet_end: dt.time | None = None,
) -> dt.datetime:
    """The first instant from `moment` in one of the user's likely open `hours` (local, in
    `zone`) and outside their quiet hours, no later than `latest`; `moment` itself when it
    is in such an hour, or when no such hour comes by `latest` (then waiting gains nothing).

    Local hours are found by stepping real time an hour at a time from the start of
    `moment`'s local hour, so a day-light saving change is followed: on a spring-forward day
    the missing hour never matches, on a fall-back day the first of the repeated hour does.
    """
    if not hours or latest <= moment:
        return moment

    def fits(instant: dt.datetime) -> dt.datetime | None:
        """`instant`, or the end of quiet hours within its local hour, if that hour is a
        likely one; else None."""
        local = instant.astimezone(zone)
        if local.hour not in hours:
            return None
        free = quiet_hours_end(instant, zone, quiet_start, quiet_end)
        if free.astimezone(zone).replace(minute=0, second=0, microsecond=0) != local.replace(
            minute=0, second=0, microsecond=0
        ):
            return None
        return free

    if (first := fits(moment)) is not None and first <= latest:
        return first
    local = moment.astimezone(zone)
    instant = moment - dt.timedelta(
        minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    for _ in range(48):
        instant += dt.timedelta(hours=1)
        # An offset change of a part of an hour (Lord Howe Island) leaves the local clock
        # off the hour: start the hour again.
        minute = instant.astimezone(zone).minute
        if minute:
            instant -= dt.timedelta(minutes=minute)
        if instant > latest:
            break
        if instant > moment and (found := fits(instant)) is not None and found <= latest:
            return found
    return moment

"""UTC time buckets that rollups count in (analytics' events, notifications' deliveries).
Pure Python."""

import datetime as dt


def bucket_start(moment: dt.datetime, granularity: str) -> dt.datetime:
    """Return the start of the UTC bucket holding `moment`: a minute, hour, day, week (from
    Monday) or calendar month."""
    moment = moment.astimezone(dt.UTC)
    if granularity == "minute":
        return moment.replace(second=0, microsecond=0)
    if granularity == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if granularity in ("day", "week", "month"):
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if granularity == "week":
            return day - dt.timedelta(days=day.weekday())
        return day.replace(day=1) if granularity == "month" else day
    raise ValueError(f"unknown granularity {granularity!r}")

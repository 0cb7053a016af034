"""The beat schedule, declared in code; `manage.py sync_schedules` writes it to the database."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    crontab: dict  # minute, hour, day_of_week, day_of_month, month_of_year
    expires: int  # seconds; about 1.5 times the interval, so a backlog never piles up


SCHEDULES = [
    Schedule(
        name="Lock voting on shows whose date has passed",
        task="setlists.shows_lock_past_due",
        crontab={"minute": "*/5"},  # every five minutes
        expires=450,
    ),
    Schedule(
        name="Make monthly analytics event partitions ahead",
        task="analytics.event_partitions_ensure",
        crontab={"minute": "17", "hour": "3"},  # daily at 03:17
        expires=60 * 60 * 36,
    ),
    Schedule(
        name="Apply analytics retention policies",
        task="analytics.retention_apply",
        crontab={"minute": "47", "hour": "3"},  # daily at 03:47
        expires=60 * 60 * 36,
    ),
]

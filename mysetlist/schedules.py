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
]

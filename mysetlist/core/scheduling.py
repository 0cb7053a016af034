from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from mysetlist.schedules import SCHEDULES, Schedule

MANAGED = "Declared in mysetlist/schedules.py"


def _timing(schedule: Schedule) -> dict:
    """Return the PeriodicTask fields that say when: an interval or a crontab."""
    if schedule.every_seconds:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
        return {"interval": interval, "crontab": None}
    return {"interval": None, "crontab": _crontab(schedule)}


def _crontab(schedule: Schedule) -> CrontabSchedule:
    fields = {
        "minute": "*",
        "hour": "*",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        **schedule.crontab,
    }
    crontab, _ = CrontabSchedule.objects.get_or_create(**fields, timezone="UTC")
    return crontab


@transaction.atomic
def schedules_sync(*, reset: bool = False, schedules: list[Schedule] = SCHEDULES):
    """Create the declared periodic tasks, update them and remove ones no longer declared.

    Staff may retime or pause a job in admin: its crontab and enabled flag are kept unless
    `reset` is set. Return the counts created, updated and removed.
    """
    created = updated = 0
    for schedule in schedules:
        task = PeriodicTask.objects.filter(name=schedule.name).first()
        if task is None:
            PeriodicTask.objects.create(
                name=schedule.name,
                task=schedule.task,
                expire_seconds=schedule.expires,
                description=MANAGED,
                **_timing(schedule),
            )
            created += 1
            continue
        task.task, task.expire_seconds, task.description = schedule.task, schedule.expires, MANAGED
        if reset:
            for field, value in _timing(schedule).items():
                setattr(task, field, value)
            task.enabled = True
        task.save()
        updated += 1
    removed, _ = (
        PeriodicTask.objects.filter(description=MANAGED)
        .exclude(name__in=[s.name for s in schedules])
        .delete()
    )
    return created, updated, removed

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from mysetlist.schedules import SCHEDULES, Schedule

MANAGED = "Declared in mysetlist/schedules.py"


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
                crontab=_crontab(schedule),
                expire_seconds=schedule.expires,
                description=MANAGED,
            )
            created += 1
            continue
        task.task, task.expire_seconds, task.description = schedule.task, schedule.expires, MANAGED
        if reset:
            task.crontab, task.interval, task.enabled = _crontab(schedule), None, True
        task.save()
        updated += 1
    removed, _ = (
        PeriodicTask.objects.filter(description=MANAGED)
        .exclude(name__in=[s.name for s in schedules])
        .delete()
    )
    return created, updated, removed

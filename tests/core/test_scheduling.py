import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from mysetlist.core.scheduling import MANAGED, schedules_sync
from mysetlist.schedules import SCHEDULES, Schedule

pytestmark = pytest.mark.django_db


def test_schedules_sync_creates_every_declared_task():
    created, updated, removed = schedules_sync()

    assert (created, updated, removed) == (len(SCHEDULES), 0, 0)
    task = PeriodicTask.objects.get(task="setlists.shows_lock_past_due")
    assert task.crontab.minute == "*/5"
    assert task.expire_seconds == 450


def test_schedules_sync_keeps_staff_edits_unless_reset():
    schedules_sync()
    task = PeriodicTask.objects.get(task="setlists.shows_lock_past_due")
    task.enabled = False
    task.save()

    assert schedules_sync() == (0, len(SCHEDULES), 0)
    assert PeriodicTask.objects.get(pk=task.pk).enabled is False
    schedules_sync(reset=True)
    assert PeriodicTask.objects.get(pk=task.pk).enabled is True


def test_schedules_sync_removes_tasks_no_longer_declared():
    gone = Schedule(name="Old job", task="setlists.old", crontab={"minute": "0"}, expires=60)
    schedules_sync(schedules=[*SCHEDULES, gone])
    every_hour = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.create(name="Made in admin", task="setlists.x", interval=every_hour)

    created, updated, removed = schedules_sync()

    assert removed == 1
    assert not PeriodicTask.objects.filter(name="Old job").exists()
    assert PeriodicTask.objects.filter(name="Made in admin").exists()
    assert PeriodicTask.objects.filter(description=MANAGED).count() == len(SCHEDULES)


def test_frequent_jobs_get_an_interval_schedule():
    schedules_sync()

    task = PeriodicTask.objects.get(task="analytics.rollups_live")
    assert (task.interval.every, task.interval.period) == (1, IntervalSchedule.SECONDS)
    assert task.crontab is None
    assert task.expire_seconds == 2

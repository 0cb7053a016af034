import datetime
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from mysetlist.celery import app
from mysetlist.setlists.models import Show
from mysetlist.setlists.tasks import shows_lock_past_due as shows_lock_past_due_task
from tests.setlists.factories import ShowFactory


def a_week_ago():
    return timezone.now().date() - datetime.timedelta(days=7)


@pytest.mark.django_db
def test_shows_lock_past_due_task_locks_past_shows():
    past = ShowFactory(voting_open=True, date=a_week_ago())
    future = ShowFactory(voting_open=True)

    result = shows_lock_past_due_task.apply()

    assert result.get() == [past.pk]
    assert Show.objects.get(pk=future.pk).status == Show.Status.VOTING_OPEN


def test_task_is_declared_with_limits():
    assert shows_lock_past_due_task.name == "setlists.shows_lock_past_due"
    assert shows_lock_past_due_task.soft_time_limit and shows_lock_past_due_task.time_limit
    assert shows_lock_past_due_task.acks_late


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_task_from_the_broker(monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    past = ShowFactory(voting_open=True, date=a_week_ago())

    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        shows_lock_past_due_task.delay()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if Show.objects.get(pk=past.pk).status == Show.Status.LOCKED:
                break
            time.sleep(0.1)

    assert Show.objects.get(pk=past.pk).status == Show.Status.LOCKED

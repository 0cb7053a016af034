"""A rebuild and the beat jobs take turns, on PostgreSQL."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import EventRollup, Person
from analytics.rollups import _locked, rollups_process, rollups_rebuild
from analytics.services import events_ingest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_rebuild_waits_for_a_running_day_job_and_the_job_skips_while_it_runs():
    now = timezone.now()
    events_ingest(body={"event": "e", "distinct_id": "d"}, received_at=now)
    holding, release = threading.Event(), threading.Event()

    def day_job_running():
        try:
            with transaction.atomic():
                assert _locked("day")
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def rebuild():
        try:
            return rollups_rebuild(start=now, end=now, granularities=("day",))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        job = pool.submit(day_job_running)
        assert holding.wait(10)
        rebuilt = pool.submit(rebuild)
        with pytest.raises(TimeoutError):
            rebuilt.result(timeout=0.5)  # waiting on the job's lock
        assert not EventRollup.objects.filter(granularity="day").exists()
        release.set()
        job.result(timeout=10)
        assert rebuilt.result(timeout=30) == 1

    assert EventRollup.objects.get(granularity="day", dimension="").count == 1
    assert Person.objects.filter(key="a:d").exists()


def test_the_day_job_skips_while_another_holds_its_lock():
    now = timezone.now()
    events_ingest(body={"event": "e", "distinct_id": "d"}, received_at=now)
    holding, release = threading.Event(), threading.Event()

    def other_job():
        try:
            with transaction.atomic():
                _locked("day")
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(other_job)
        assert holding.wait(10)
        try:
            assert rollups_process(granularity="day").buckets == 0
        finally:
            release.set()
        other.result(timeout=10)

    assert rollups_process(granularity="day").buckets == 1
    assert Person.objects.get().first_seen == now.astimezone(dt.UTC).date()

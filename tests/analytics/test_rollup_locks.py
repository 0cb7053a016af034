"""A rebuild and the beat jobs take turns, on PostgreSQL."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import EventRollup, Person
from analytics.rollups import _locked, rollups_live, rollups_process, rollups_rebuild
from analytics.services import events_ingest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextmanager
def day_job_running():
    """Another connection holds the day job's lock until the block ends."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                assert _locked("day")
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(hold)
        assert holding.wait(10)
        try:
            yield
        finally:
            release.set()
        held.result(timeout=10)


def test_a_rebuild_waits_for_a_running_day_job():
    now = timezone.now()
    events_ingest(body={"event": "e", "distinct_id": "d"}, received_at=now)
    rollups_live()  # the event is counted; only the exact pass counts its person

    def rebuild():
        try:
            return rollups_rebuild(start=now, end=now, granularities=("day",))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        with day_job_running():
            rebuilt = pool.submit(rebuild)
            with pytest.raises(TimeoutError):
                rebuilt.result(timeout=0.5)  # waiting on the job's lock
            cell = EventRollup.objects.get(granularity="day", dimension="")
            assert (cell.count, cell.persons) == (1, 0)
        assert rebuilt.result(timeout=30) == 1

    cell = EventRollup.objects.get(granularity="day", dimension="")
    assert (cell.count, cell.persons) == (1, 1)
    assert Person.objects.filter(key="a:d").exists()


def test_the_day_job_skips_while_another_holds_its_lock():
    now = timezone.now()
    events_ingest(body={"event": "e", "distinct_id": "d"}, received_at=now)

    with day_job_running():
        assert rollups_process(granularity="day").buckets == 0

    assert rollups_process(granularity="day").buckets == 1
    assert Person.objects.get().first_seen == now.astimezone(dt.UTC).date()

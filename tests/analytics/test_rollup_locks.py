"""A rebuild and the beat jobs take turns, on PostgreSQL."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from analytics.models import EventRollup, Person
from analytics.rollups.passes import rollups_live, rollups_process, rollups_rebuild
from analytics.services import events_ingest
from tests.analytics.passes import job_running

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
        with job_running("day"):
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

    with job_running("day"):
        assert rollups_process(granularity="day").buckets == 0

    assert rollups_process(granularity="day").buckets == 1
    assert Person.objects.get().first_seen == now.astimezone(dt.UTC).date()

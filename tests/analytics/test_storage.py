"""Exactly-once storage under concurrent requests, on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from analytics.models import Event, EventMessageKey
from analytics.services import events_ingest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_batches_with_overlapping_ids_store_each_once():
    start = threading.Barrier(6)

    def send(worker):
        try:
            start.wait()
            # Every worker sends ids 0..299; each id must be stored exactly once overall.
            ids = list(range(300))
            ids = ids[worker * 50 :] + ids[: worker * 50]
            body = {
                "batch": [{"event": "e", "distinct_id": "d", "message_id": f"m{n}"} for n in ids]
            }
            return events_ingest(body=body, received_at=timezone.now()).accepted
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        accepted = list(pool.map(send, range(6)))

    assert sum(accepted) == 300
    assert Event.objects.count() == 300
    assert EventMessageKey.objects.count() == 300

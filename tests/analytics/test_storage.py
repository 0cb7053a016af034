"""Exactly-once storage under concurrent requests, on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from analytics.models import Event, EventMessageKey
from analytics.services import events_ingest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("round_", range(4))  # a deadlock showed up about one run in four
def test_concurrent_batches_with_overlapping_ids_store_each_once(round_):
    start = threading.Barrier(6)

    def send(worker):
        try:
            start.wait()
            # Every worker sends ids 0..299 in its own order; each id is stored once overall.
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


def test_concurrent_single_events_with_one_message_id_store_it_once():
    start = threading.Barrier(8)

    def send(_):
        try:
            start.wait()
            body = {"event": "e", "distinct_id": "d", "message_id": "the-one"}
            return events_ingest(body=body, received_at=timezone.now()).accepted
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        accepted = list(pool.map(send, range(8)))

    assert sorted(accepted) == [0] * 7 + [1]
    assert Event.objects.filter(message_id="the-one").count() == 1

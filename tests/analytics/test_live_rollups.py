"""The two passes of the rollups: live counts within seconds, exact numbers after."""

import datetime as dt
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import Event, EventRollup, RollupBatch, RollupDirty, RollupRun
from analytics.rollups.buckets import bucket_start
from analytics.rollups.passes import (
    _process_chunk,
    exact_pass_due,
    rollups_live,
    rollups_process,
    rollups_rebuild,
)
from analytics.services import events_ingest
from tests.analytics.generated import generate
from tests.analytics.passes import exact_only, exact_pass_all, job_running
from tests.analytics.test_rollups import ingest_all, reference, stored

pytestmark = pytest.mark.django_db

GRANULARITIES = ("minute", "hour", "day")


def anonymous(distinct_id: str) -> str:
    return f"a:{distinct_id}"


def test_the_live_pass_counts_new_batches_and_leaves_persons_to_the_exact_pass():
    now = timezone.now()
    vote = {"event": "vote_cast", "distinct_id": "fan", "properties": {"song_id": 7}}
    events_ingest(body={"batch": [{**vote, "message_id": "1"}, {**vote, "message_id": "2"}]},
                  received_at=now)  # fmt: skip
    events_ingest(body={**vote, "message_id": "3"}, received_at=now)

    result = rollups_live()

    assert result.buckets == 2  # batches
    for granularity in GRANULARITIES:
        cell = EventRollup.objects.get(granularity=granularity, dimension="song_id", value="7")
        assert (cell.count, cell.persons) == (3, 0)
    assert not RollupBatch.objects.exists()
    assert RollupRun.objects.get().kind == "live"
    assert rollups_live().buckets == 0  # each batch is counted once

    rollups_process(granularity="minute")

    cell = EventRollup.objects.get(granularity="minute", dimension="song_id", value="7")
    assert (cell.count, cell.persons) == (3, 1)


def test_an_exact_pass_before_the_live_one_leaves_it_the_waiting_batches():
    now = timezone.now()
    events = generate(now, span=dt.timedelta(minutes=20))
    ingest_all(events[:200], now)
    rollups_live()
    ingest_all(events[200:], now)  # these wait for the live pass

    exact_only("minute")  # the live pass not yet come round
    counted = sum(EventRollup.objects.filter(granularity="minute", dimension="").values_list(
        "count", flat=True))  # fmt: skip
    assert counted == 200
    rollups_live()

    expected = reference(events, "minute", anonymous)
    assert stored("minute") == expected
    rollups_process(granularity="minute")  # nothing left to correct
    assert stored("minute") == expected


def test_a_batch_past_the_lateness_counts_only_its_recent_events_live(settings):
    settings.ANALYTICS_ROLLUP_LATENESS_HOURS = 24
    now = timezone.now()
    old = now - dt.timedelta(days=3)
    recent = {"event": "e", "distinct_id": "a", "message_id": "new", "timestamp": now.isoformat()}
    events_ingest(
        body={"batch": [recent, {**recent, "message_id": "old", "timestamp": old.isoformat()}]},
        received_at=now,
    )

    rollups_live()

    def days():
        cells = EventRollup.objects.filter(granularity="day", dimension="")
        return dict(cells.values_list("bucket", "count"))

    batches = set(Event.objects.values_list("batch", flat=True))
    assert len(batches) == 1 and None not in batches  # both events are of the batch
    assert days() == {bucket_start(now, "day"): 1}  # only the recent one is counted

    rollups_rebuild(start=old, end=old)
    rollups_live()

    assert days() == {bucket_start(now, "day"): 1, bucket_start(old, "day"): 1}


@pytest.mark.postgres
def test_each_stored_batch_is_recorded_once_with_its_events():
    now = timezone.now()
    single = {"event": "e", "distinct_id": "a", "message_id": "s"}

    events_ingest(body=single, received_at=now)
    events_ingest(body=single, received_at=now)  # a repeat stores nothing
    too_late = {
        **single,
        "message_id": "late",
        "timestamp": (now - dt.timedelta(days=30)).isoformat(),
    }
    events_ingest(body=too_late, received_at=now)  # stored, but no rollup counts it now
    events_ingest(body={"batch": [{**single, "message_id": f"b{n}"} for n in range(3)]},
                  received_at=now)  # fmt: skip
    events_ingest(body={"batch": [{**single, "message_id": f"b{n}"} for n in range(3)]},
                  received_at=now)  # all repeats  # fmt: skip

    batches = list(RollupBatch.objects.order_by("id").values_list("id", flat=True))
    assert len(batches) == 2
    by_message = dict(Event.objects.values_list("message_id", "batch"))
    assert by_message == {"s": batches[0], "late": None, "b0": batches[1], "b1": batches[1],
                          "b2": batches[1]}  # fmt: skip


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_passes_running_beside_ingestion_count_every_event_once():
    """Batches arrive while live and exact passes run on their own connections, in any
    order; once the last batch is in and both have run, every cell is what the raw events
    give, in every granularity."""
    now = timezone.now()
    rng = random.Random(3)
    events = generate(now, n=1500, seed=11, span=dt.timedelta(minutes=3))
    rng.shuffle(events)
    done = threading.Event()
    exact_saw_waiting = []

    def ingest():
        try:
            for start in range(0, len(events), 25):
                events_ingest(body={"batch": events[start : start + 25]}, received_at=now)
        finally:
            done.set()
            connection.close()

    def live():
        try:
            while not done.is_set():
                rollups_live()
        finally:
            connection.close()

    def exact(granularity):
        try:
            while not done.is_set():
                exact_saw_waiting.append(RollupBatch.objects.exists())
                with transaction.atomic():  # the exact pass alone: the live one runs apart
                    _process_chunk(granularity, 200)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=5) as pool:
        jobs = [pool.submit(ingest), pool.submit(live)]
        jobs += [pool.submit(exact, g) for g in GRANULARITIES]
        for job in jobs:
            job.result(timeout=120)

    exact_pass_all()
    assert any(exact_saw_waiting)  # the passes did overlap with batches waiting
    assert not RollupBatch.objects.exists() and not RollupDirty.objects.exists()
    for granularity in GRANULARITIES:
        assert stored(granularity) == reference(events, granularity, anonymous), granularity


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_live_pass_runs_one_at_a_time():
    events_ingest(body={"event": "e", "distinct_id": "d"}, received_at=timezone.now())

    with job_running("live"):
        assert rollups_live().buckets == 0

    assert rollups_live().buckets == 1


def test_the_exact_pass_rests_in_proportion_to_its_last_run(settings):
    settings.ANALYTICS_EXACT_PASS_REST = 3
    now = timezone.now()
    assert exact_pass_due("minute", now=now)  # never run
    RollupRun.objects.create(kind="exact", granularity="minute", finished_at=now, buckets=1,
                             max_lag_ms=0, seconds=2.0)  # fmt: skip
    # The live pass's runs don't count.
    RollupRun.objects.create(kind="live", granularity="minute", finished_at=now, buckets=1,
                             max_lag_ms=0, seconds=60.0)  # fmt: skip

    assert not exact_pass_due("minute", now=now + dt.timedelta(seconds=5.9))
    assert exact_pass_due("minute", now=now + dt.timedelta(seconds=6))
    assert exact_pass_due("hour", now=now)  # each granularity rests apart


def test_the_scheduled_exact_pass_skips_while_it_rests(settings):
    from analytics.tasks import rollups_process_minute

    settings.ANALYTICS_EXACT_PASS_REST = 1000
    events_ingest(body={"event": "e", "distinct_id": "d"}, received_at=timezone.now())
    assert rollups_process_minute() == 1  # a first run: due
    events_ingest(body={"event": "e", "distinct_id": "d2"}, received_at=timezone.now())

    assert rollups_process_minute() == 0  # resting
    assert RollupDirty.objects.filter(granularity="minute").exists()

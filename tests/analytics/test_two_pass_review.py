"""The two rollup passes against a computation over the raw events: ingestion, the live
pass, the exact pass, erasure and rebuilds in the orders and interleavings they can take."""

import datetime as dt
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics.lifecycle.erasure import erasure_process
from analytics.metrics.trends import trend
from analytics.models import ErasureRequest, Event, EventRollup, RollupBatch, RollupDirty, RollupRun
from analytics.rollups import passes as rollups
from analytics.rollups.buckets import GRANULARITIES, bucket_start
from analytics.rollups.cells import DIMENSIONS
from analytics.rollups.passes import (
    _process_chunk,
    exact_pass_due,
    rollups_live,
    rollups_process,
    rollups_rebuild,
)
from analytics.services import events_ingest, track
from tests.analytics.passes import exact_only, exact_pass_all

pytestmark = pytest.mark.django_db


def event(distinct_id: str, message_id: str, moment: dt.datetime, name: str = "e", **properties):
    return {"event": name, "distinct_id": distinct_id, "message_id": message_id,
            "timestamp": moment.isoformat(), "properties": properties}  # fmt: skip


def raw(**filters) -> list[dict]:
    """The stored events, as the reference reads them."""
    return list(
        Event.objects.filter(**filters).values(
            "event", "distinct_id", "timestamp", "received_at", "properties"
        )
    )


def within_lateness(events: list[dict], hours: int) -> list[dict]:
    """The events the passes count without a rebuild: not older than the lateness on arrival."""
    return [e for e in events if e["timestamp"] >= e["received_at"] - dt.timedelta(hours=hours)]


def reference(granularity: str, events: list[dict]) -> dict:
    """Per cell, (count, distinct persons): one pass over the events, values cut to 64."""
    cells = defaultdict(lambda: [0, set()])
    for e in events:
        bucket = bucket_start(e["timestamp"], granularity)
        keys = [("", "")] + [
            (d, str(e["properties"][d])[:64]) for d in DIMENSIONS if d in e["properties"]
        ]
        for dimension, value in keys:
            cell = cells[(bucket, e["event"], dimension, value)]
            cell[0] += 1
            cell[1].add(f"a:{e['distinct_id']}")
    return {key: (count, len(people)) for key, (count, people) in cells.items()}


def cells(granularity: str) -> dict:
    """The stored cells, summed per key: a cell split over two rows is the subject of its
    own test, not of every other."""
    found = defaultdict(lambda: [0, 0])
    for r in EventRollup.objects.filter(granularity=granularity):
        cell = found[(r.bucket, r.event, r.dimension, r.value)]
        cell[0] += r.count
        cell[1] += r.persons
    return {key: tuple(cell) for key, cell in found.items()}


def counts(table: dict) -> dict:
    return {key: count for key, (count, _) in table.items() if count}


def pause_live_pass(monkeypatch, *, before_adding: bool):
    """Make the live pass stop, once it has read its batches' events, before or after adding
    them to the cells, until `resume` is set; `paused` is set when it stops."""
    paused, resume = threading.Event(), threading.Event()
    increment = rollups.cells_increment

    def stopping(counts_by_cell):
        if not before_adding:
            increment(counts_by_cell)
        paused.set()
        assert resume.wait(30)
        if before_adding:
            increment(counts_by_cell)

    monkeypatch.setattr(rollups, "cells_increment", stopping)
    return paused, resume


def on_own_connection(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    finally:
        connection.close()


# One row per cell, whichever pass wrote it first


def test_a_live_pass_after_an_exact_pass_adds_to_the_same_cell_row():
    now = timezone.now()
    events_ingest(body=event("d1", "1", now), received_at=now)
    rollups_process(granularity="minute")  # live, then exact: the minute cell is (1, 1)
    events_ingest(body=event("d2", "2", now), received_at=now)

    rollups_live()

    minute = EventRollup.objects.filter(granularity="minute", dimension="")
    assert [(c.count, c.persons) for c in minute] == [(2, 1)]


def test_a_trend_by_minute_counts_what_the_live_pass_added_after_an_exact_pass():
    now = timezone.now()
    events_ingest(body=event("d1", "1", now), received_at=now)
    rollups_process(granularity="minute")
    events_ingest(body=event("d2", "2", now), received_at=now)
    events_ingest(body=event("d3", "3", now), received_at=now)

    rollups_live()

    [series] = trend(event="e", interval="minute", start=now, end=now)
    assert series.total == 3


# Erasure


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_erasure_waits_for_a_live_pass_reading_its_batch(monkeypatch):
    """The live pass has read a batch's events and not yet added them: an erasure of some
    of them waits for it to commit, so the exact pass never takes the batch for still to
    come with fewer events than the live pass adds. Nothing stays counted that was erased."""
    now = timezone.now()
    leaver = [event("leaver", f"l{n}", now, song_id=1) for n in range(2)]
    events_ingest(body={"batch": [*leaver, event("stayer", "s", now, song_id=1)]},
                  received_at=now)  # fmt: skip
    paused, resume = pause_live_pass(monkeypatch, before_adding=True)
    request = ErasureRequest.objects.create(user_id=0, distinct_ids=["leaver"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        live = pool.submit(on_own_connection, rollups_live)
        assert paused.wait(30)
        try:
            erasure = pool.submit(on_own_connection, erasure_process, request_id=request.pk)
            with pytest.raises(TimeoutError):
                erasure.result(timeout=0.5)  # waiting for the live pass
            assert Event.objects.filter(distinct_id="leaver").count() == 2
        finally:
            resume.set()
        assert live.result(timeout=30).buckets == 1
        assert erasure.result(timeout=30).events_deleted == 2

    exact_pass_all()
    assert not RollupBatch.objects.exists() and not RollupDirty.objects.exists()
    events = raw()
    assert [e["distinct_id"] for e in events] == ["stayer"]
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


@pytest.mark.parametrize("first", ["live", "exact"])
def test_an_erasure_while_a_batch_waits_is_folded_in_either_order(first):
    now = timezone.now()
    batch = [
        event("leaver", "l1", now, song_id=1),
        event("leaver", "l2", now, show_id=2),
        event("stayer", "s1", now, song_id=1),
        event("stayer", "s2", now, name="f"),
    ]
    events_ingest(body={"batch": batch}, received_at=now)
    request = ErasureRequest.objects.create(user_id=0, distinct_ids=["leaver"])
    erasure_process(request_id=request.pk)

    if first == "live":
        rollups_live()
        for granularity in GRANULARITIES:
            exact_only(granularity)
    else:
        for granularity in GRANULARITIES:
            exact_only(granularity)
        rollups_live()

    events = raw()
    assert len(events) == 2
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity
    exact_pass_all()  # nothing left to correct
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


def test_a_waiting_batch_whose_events_were_all_erased_is_dropped():
    now = timezone.now()
    events_ingest(body={"batch": [event("leaver", "1", now), event("leaver", "2", now)]},
                  received_at=now)  # fmt: skip
    request = ErasureRequest.objects.create(user_id=0, distinct_ids=["leaver"])
    erasure_process(request_id=request.pk)

    assert rollups_live().buckets == 1

    assert not RollupBatch.objects.exists()
    exact_pass_all()
    assert not EventRollup.objects.exists()


# Lock waits between the passes, on PostgreSQL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_exact_pass_waits_for_a_live_pass_holding_its_cells(monkeypatch):
    now = timezone.now()
    events_ingest(body={"batch": [event("a", "1", now), event("b", "2", now)]}, received_at=now)
    rollups_live()
    events_ingest(body={"batch": [event("a", "3", now), event("c", "4", now)]}, received_at=now)
    paused, resume = pause_live_pass(monkeypatch, before_adding=False)

    with ThreadPoolExecutor(max_workers=2) as pool:
        live = pool.submit(on_own_connection, rollups_live)
        assert paused.wait(30)
        try:
            exact = pool.submit(on_own_connection, rollups_process, granularity="minute")
            with pytest.raises(TimeoutError):
                exact.result(timeout=1)  # waiting on the cells the live pass added to
        finally:
            resume.set()
        assert live.result(timeout=30).buckets == 1
        assert exact.result(timeout=30).buckets == 1

    events = raw()
    assert cells("minute") == reference("minute", events)
    for granularity in ("hour", "day"):
        assert counts(cells(granularity)) == counts(reference(granularity, events))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_live_pass_waits_for_an_exact_pass_holding_its_cells_and_ingestion_does_not():
    now = timezone.now()
    events_ingest(body={"batch": [event("a", "1", now), event("b", "2", now)]}, received_at=now)
    held, release = threading.Event(), threading.Event()

    def exact_held_open():
        with transaction.atomic():
            done = _process_chunk("minute", 200)
            held.set()
            assert release.wait(30)
        return done

    with ThreadPoolExecutor(max_workers=3) as pool:
        exact = pool.submit(on_own_connection, exact_held_open)
        assert held.wait(30)
        try:
            second = {"batch": [event("a", "3", now), event("c", "4", now)]}
            ingest = pool.submit(on_own_connection, events_ingest, body=second, received_at=now)
            assert ingest.result(timeout=10).accepted == 2  # ingestion never waits for it
            live = pool.submit(on_own_connection, rollups_live)
            with pytest.raises(TimeoutError):
                live.result(timeout=1)  # waiting on the cells the exact pass rewrote
        finally:
            release.set()
        assert exact.result(timeout=30)[0] == 1
        assert live.result(timeout=30).buckets == 2

    events = raw()
    first_persons = reference("minute", [e for e in events if e["distinct_id"] in ("a", "b")])
    minute = cells("minute")
    assert counts(minute) == counts(reference("minute", events))
    assert {key: persons for key, (_, persons) in minute.items()} == {
        key: persons for key, (_, persons) in first_persons.items()
    }
    exact_pass_all()
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


# Lateness and rebuilds


@pytest.mark.parametrize("microsecond", [0, 250_000])
@pytest.mark.parametrize("path", ["single", "batch"])
def test_an_event_exactly_at_the_lateness_bound_is_counted_once(settings, path, microsecond):
    settings.ANALYTICS_ROLLUP_LATENESS_HOURS = 24
    now = timezone.now().replace(microsecond=microsecond)
    bound = now - dt.timedelta(hours=24)
    at, before = event("a", "at", bound), event("b", "before", bound - dt.timedelta(microseconds=1))
    if path == "single":
        events_ingest(body=at, received_at=now)
        events_ingest(body=before, received_at=now)
    else:
        events_ingest(body={"batch": [at, before]}, received_at=now)

    rollups_live()

    events = raw()
    assert len(events) == 2
    counted = within_lateness(events, 24)
    assert [e["distinct_id"] for e in counted] == ["a"]
    for granularity in GRANULARITIES:  # the live pass draws the line where ingestion does
        assert counts(cells(granularity)) == counts(reference(granularity, counted))

    exact_pass_all()

    for granularity in GRANULARITIES:  # a marked bucket is recomputed from all its events
        marked = {bucket_start(e["timestamp"], granularity) for e in counted}
        recomputed = [e for e in events if bucket_start(e["timestamp"], granularity) in marked]
        assert cells(granularity) == reference(granularity, recomputed), granularity

    rollups_rebuild(start=bound - dt.timedelta(microseconds=1), end=bound)
    exact_pass_all()
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


def test_a_rebuild_while_batches_wait_leaves_them_to_the_live_pass(settings):
    settings.ANALYTICS_ROLLUP_LATENESS_HOURS = 24
    now = timezone.now()
    old = now - dt.timedelta(days=2)
    events_ingest(
        body={"batch": [event("a", "1", now - dt.timedelta(minutes=10), song_id=3),
                        event("b", "2", now, name="vote_cast", song_id=3),
                        event("c", "3", old, song_id=3), event("a", "4", old, name="f")]},
        received_at=now,
    )  # fmt: skip
    events_ingest(body={"batch": [event("d", "5", now, song_id=3)]}, received_at=now)

    rollups_rebuild(start=old, end=now)

    events = raw()
    assert RollupBatch.objects.count() == 2  # left to the live pass
    late = [e for e in events if e["timestamp"] == old]
    for granularity in GRANULARITIES:  # so far, only what the live pass never counts
        assert counts(cells(granularity)) == counts(reference(granularity, late)), granularity

    rollups_live()

    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity
    exact_pass_all()
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


# Inputs: long values, duplicate ids, single events


def test_long_property_values_share_their_cut_cell_in_both_passes():
    now = timezone.now()
    long_a, long_b = "x" * 64 + "a", "x" * 64 + "b"  # one cell: alike in their first 64
    accents, emoji = "é" * 70, "ü" * 63 + "\N{GRINNING FACE}"  # characters, not bytes
    events_ingest(
        body={"batch": [event("d1", "1", now, song_id=long_a),
                        event("d2", "2", now, song_id=accents)]},
        received_at=now,
    )  # fmt: skip
    rollups_live()
    assert counts(cells("minute")) == counts(reference("minute", raw()))
    events_ingest(
        body={"batch": [event("d2", "3", now, song_id=long_b), event("d3", "4", now, song_id=emoji),
                        event("d1", "5", now, song_id=long_a)]},
        received_at=now,
    )  # fmt: skip

    exact_pass_all()

    events = raw()
    cut = reference("minute", events)
    assert [v for (_, _, d, v), (n, p) in cut.items() if d and n == 3] == ["x" * 64]
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


def test_retried_batches_and_repeated_ids_count_each_event_once():
    now = timezone.now()
    first = [event(f"d{n % 3}", f"m{n}", now, song_id=n % 2) for n in range(1, 6)]
    events_ingest(body={"batch": first}, received_at=now)
    exact_only("minute")  # the batch still waits: nothing counted, persons only
    assert counts(cells("minute")) == {}

    retry = [event(f"d{n % 3}", f"m{n}", now, song_id=n % 2) for n in range(3, 9)]
    result = events_ingest(body={"batch": [*retry, retry[-1]]}, received_at=now)
    assert result.accepted == 3
    assert events_ingest(body=first[0], received_at=now).accepted == 0
    assert events_ingest(body={"batch": first[:3]}, received_at=now).accepted == 0
    assert RollupBatch.objects.count() == 2

    rollups_live()
    exact_pass_all()

    events = raw()
    assert len(events) == 8
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


@pytest.mark.postgres
def test_single_events_each_record_a_batch_the_exact_pass_leaves_to_the_live_pass(settings):
    settings.ANALYTICS_ROLLUP_LATENESS_HOURS = 24
    now = timezone.now()
    for n, distinct_id in enumerate(["fan", "fan", "other"]):
        events_ingest(body=event(distinct_id, f"s{n}", now, show_id=4), received_at=now)
    events_ingest(body=event("fan", "s0", now, show_id=4), received_at=now)  # a repeat
    events_ingest(body=event("fan", "late", now - dt.timedelta(days=3)), received_at=now)
    with transaction.atomic():
        track(event="e", distinct_id="server", properties={"show_id": 4})

    batches = set(RollupBatch.objects.values_list("id", flat=True))
    assert len(batches) == 4
    assert set(Event.objects.exclude(message_id="late").values_list("batch", flat=True)) == batches
    exact_only("minute")
    events = within_lateness(raw(), 24)
    assert len(events) == 4
    minute = cells("minute")
    assert counts(minute) == {}  # all still waiting
    assert {key: p for key, (_, p) in minute.items()} == {  # but persons exact
        key: p for key, (_, p) in reference("minute", events).items()
    }

    rollups_live()

    assert len(events) == 4
    assert cells("minute") == reference("minute", events)
    exact_pass_all()
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, events), granularity


def test_the_live_pass_takes_the_oldest_batches_first_and_the_rest_later():
    now = timezone.now()
    for n in range(5):
        events_ingest(body={"batch": [event(f"d{n}", f"{n}a", now), event("x", f"{n}b", now)]},
                      received_at=now)  # fmt: skip
    oldest = list(RollupBatch.objects.order_by("id").values_list("id", flat=True))

    assert rollups_live(max_batches=2).buckets == 2
    assert list(RollupBatch.objects.order_by("id").values_list("id", flat=True)) == oldest[2:]
    exact_only("hour")
    assert rollups_live(max_batches=2).buckets == 2
    assert rollups_live(max_batches=2).buckets == 1
    assert rollups_live(max_batches=2).buckets == 0

    events = raw()
    assert counts(cells("minute")) == counts(reference("minute", events))
    assert cells("hour") == reference("hour", events)


# Everything at once, on PostgreSQL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ingestion_live_exact_and_rebuilds_running_together_count_every_event_once():
    """Batches and single events arrive while the live pass, the exact pass by minute and
    rebuilds of the whole range run on their own connections; names and values that sort
    differently by byte and by collation, so the passes' lock orders are put to the test."""
    now = timezone.now()
    rng = random.Random(17)
    names = ["B", "a", "é", "Z_", "vote_cast"]
    events = [
        event(f"p{rng.randint(1, 30)}", f"m{n}", now - dt.timedelta(seconds=rng.randint(0, 240)),
              name=rng.choice(names), **{d: rng.choice(["1", "A", "b", "é"]) for d in DIMENSIONS
                                         if rng.random() < 0.6})
        for n in range(700)
    ]  # fmt: skip
    done = threading.Event()
    first = min(dt.datetime.fromisoformat(e["timestamp"]) for e in events)

    def ingest():
        try:
            start = 0
            while start < len(events):
                size = rng.choice([1, 1, 20, 35])
                body = events[start] if size == 1 else {"batch": events[start : start + size]}
                events_ingest(body=body, received_at=now)
                start += size
        finally:
            done.set()

    def repeat(function, *args, **kwargs):
        runs = 0
        while not done.is_set():
            function(*args, **kwargs)
            runs += 1
            time.sleep(0.005)
        return runs

    def exact_minute():
        with transaction.atomic():
            _process_chunk("minute", 50)

    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [
            pool.submit(on_own_connection, ingest),
            pool.submit(on_own_connection, repeat, rollups_live),
            pool.submit(on_own_connection, repeat, exact_minute),
            pool.submit(on_own_connection, repeat, rollups_rebuild, start=first, end=now),
        ]
        runs = [job.result(timeout=180) for job in jobs][1:]

    assert all(runs), runs
    exact_pass_all()
    assert not RollupBatch.objects.exists() and not RollupDirty.objects.exists()
    stored_events = raw()
    assert len(stored_events) == len(events)
    for granularity in GRANULARITIES:
        assert cells(granularity) == reference(granularity, stored_events), granularity


# How long the exact pass rests


class Clock:
    """A clock for the rollups module alone, a second on at each reading."""

    def __init__(self, start: dt.datetime):
        self.moment = start

    def now(self) -> dt.datetime:
        self.moment += dt.timedelta(seconds=1)
        return self.moment


def test_the_exact_pass_rests_in_proportion_to_its_whole_run(settings, monkeypatch):
    """A run that drains a backlog a chunk at a time took as long as all its chunks: the
    rest that keeps its share of the machine at 1 / (1 + rest) is in proportion to that."""
    settings.ANALYTICS_EXACT_PASS_REST = 3
    now = timezone.now()
    for n in range(4):
        moment = now - dt.timedelta(minutes=n + 1)
        events_ingest(body=event("d", f"{n}", moment), received_at=now)
    rollups_live()
    clock = Clock(timezone.now())
    monkeypatch.setattr(rollups, "timezone", clock)
    began = clock.moment

    assert rollups_process(granularity="minute", max_buckets=1).buckets == 4

    took = clock.moment - began
    assert RollupRun.objects.filter(kind="exact", granularity="minute").count() == 4
    assert not exact_pass_due("minute", now=clock.moment + took * 3 / 2)


def test_an_exact_pass_with_no_rest_is_due_as_soon_as_it_finishes(settings):
    settings.ANALYTICS_EXACT_PASS_REST = 0
    now = timezone.now()
    RollupRun.objects.create(kind="exact", granularity="day", finished_at=now, buckets=1,
                             max_lag_ms=0, seconds=30.0)  # fmt: skip

    assert exact_pass_due("day", now=now)
    assert not exact_pass_due("day", now=now - dt.timedelta(microseconds=1))


def test_a_resting_exact_pass_leaves_waiting_batches_to_the_live_task(settings):
    from analytics.tasks import rollups_live as rollups_live_task
    from analytics.tasks import rollups_process_minute

    settings.ANALYTICS_EXACT_PASS_REST = 1000
    now = timezone.now()
    RollupRun.objects.create(kind="exact", granularity="minute", finished_at=now, buckets=1,
                             max_lag_ms=0, seconds=60.0)  # fmt: skip
    events_ingest(body=event("d", "1", now), received_at=now)

    assert rollups_process_minute() == 0
    assert RollupBatch.objects.count() == 1
    assert rollups_live_task() == 1
    assert counts(cells("minute")) == counts(reference("minute", raw()))

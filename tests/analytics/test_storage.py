"""Storage on PostgreSQL: exactly once under concurrent requests, and every text as sent."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import Event, EventMessageKey
from analytics.services import events_ingest, events_ingest_json

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


HOSTILE = ["tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\N", "\\.", "",
           'quote"s', "\u00e9\U0001f600", "\\\t\n\r\\"]  # fmt: skip


def ingest_json(body) -> int:
    return events_ingest_json(raw=orjson.dumps(body), received_at=timezone.now()).accepted


@pytest.mark.parametrize(
    "shape",
    ["backslashes only", "tabs and line breaks", "parsed"],
)
def test_text_of_every_kind_is_stored_as_sent(shape):
    # Backslashes alone are escaped in the whole buffer at once, tabs and line breaks value
    # by value; the parsed path serialises the values again.
    texts = [t for t in HOSTILE if shape != "backslashes only" or not set(t) & set("\t\n\r")]
    sent = [
        {
            "event": f"e{text}" if shape != "parsed" else 5,  # a number: the parsed path
            "distinct_id": f"d{text}",
            "message_id": f"m{n}{text}",
            "properties": {text: text, "n": [text, {text: None}]},
            "context": {"page": {"path": f"/{text}"}},
        }
        for n, text in enumerate(texts)
    ]

    assert ingest_json({"batch": sent}) == len(sent)

    stored = {e.message_id: e for e in Event.objects.all()}
    for event in sent:
        row = stored[event["message_id"]]
        assert (row.event, row.distinct_id) == (str(event["event"]), event["distinct_id"])
        assert (row.properties, row.context) == (event["properties"], event["context"])


def test_whitespace_between_json_tokens_is_stored_as_json():
    raw = b'{"batch": [{"event": "e", "distinct_id": "d", "message_id": "w",\n'
    raw += b'  "properties": {\r\n\t"a" :\t[1,\n 2] }}]}'

    assert events_ingest_json(raw=raw, received_at=timezone.now()).accepted == 1

    assert Event.objects.get().properties == {"a": [1, 2]}


def test_numbers_keep_every_digit_on_the_json_path():
    big = b"123456789012345678901234567890"
    raw = b'{"batch": [{"event": "e", "distinct_id": "d", "properties": {"n": ' + big + b"}}]}"

    assert events_ingest_json(raw=raw, received_at=timezone.now()).accepted == 1

    with connection.cursor() as cursor:
        cursor.execute("SELECT properties ->> 'n' FROM analytics_event")
        assert cursor.fetchone()[0] == big.decode()


def test_a_number_past_a_doubles_range_refuses_its_event_alone():
    # A double's reader would take it back as infinity, and PostgreSQL's numeric, which
    # stops at 1e131071, would refuse the COPY: the event is refused before either.
    raw = b'{"batch": [{"event": "e", "distinct_id": "d", "message_id": "ok"},'
    raw += b'{"event": "e", "distinct_id": "d", "properties": {"n": 1e999999}}]}'

    result = events_ingest_json(raw=raw, received_at=timezone.now())

    assert result.accepted == 1
    [refused] = result.errors
    assert refused.index == 1 and "double's range" in refused.message
    assert list(Event.objects.values_list("message_id", flat=True)) == ["ok"]
    assert EventMessageKey.objects.count() == 1


def test_a_number_a_double_rounds_to_zero_is_stored_as_the_parsed_path_stores_it():
    # PostgreSQL's numeric would refuse 1e-20000 as sent; read the parsed way it is 0.0.
    raw = b'{"event":"e","distinct_id":"d","message_id":"tiny","properties":{"a":1e-20000}}'

    assert events_ingest_json(raw=raw, received_at=timezone.now()).accepted == 1

    assert Event.objects.get(message_id="tiny").properties == {"a": 0.0}


@pytest.mark.parametrize("stamp", ["2026-06-01T20:00:00+16:00", "2026-06-01T11:00:00+05:30:15.5"])
def test_offsets_postgresql_refuses_as_text_are_stored_in_utc(stamp):
    body = {
        "batch": [
            {"event": "e", "distinct_id": "d", "message_id": "odd", "timestamp": stamp},
            {"event": "e", "distinct_id": "d", "message_id": "good"},
        ]
    }

    assert ingest_json(body) == 2

    assert Event.objects.get(message_id="odd").timestamp == dt.datetime.fromisoformat(stamp)


def test_a_resent_batch_inside_a_callers_transaction_stores_only_new_ids():
    def send(ids):
        return ingest_json({"batch": [{"event": "e", "distinct_id": "d", "message_id": f"m{n}"}
                                      for n in ids]})  # fmt: skip

    with transaction.atomic():
        assert send(range(5)) == 5
        # The plain INSERT fails, its savepoint is rolled back, ON CONFLICT names the new.
        assert send(range(3, 8)) == 3
        with connection.cursor() as cursor:  # and the caller's transaction still works
            cursor.execute("SELECT 1")

    assert Event.objects.count() == EventMessageKey.objects.count() == 8

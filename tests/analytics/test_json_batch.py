"""The JSON path reads a body exactly as clean_batch reads the same body parsed."""

import datetime as dt
import itertools
import random

import orjson
import pytest

from analytics.ingest.json_batch import clean_batch_json
from analytics.ingest.validation import BatchError, CleanEvent, JSONText, clean_batch

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

# What senders put in each field, the plain and the hostile; None means the field is absent.
NAMES = [None, "vote_cast", "", "x" * 200, "x" * 201, 42, True, 1.5, [], {}, "a\tb\nc\\d\"e",
         "\u00e9\U0001f600", "a\u0000b", "\\N", "\\."]  # fmt: skip
STAMPS = [None, "2026-06-01T11:00:00Z", "2026-06-01T11:00:00", "2026-06-01T23:00:00+14:00",
          "2026-06-02T11:00:01Z", "1999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00",
          "9999-12-31T23:59:59-14:00", "garbage", "2026-06-01", 5, "x" * 41]  # fmt: skip
MAPPINGS = [None, {}, {"show_id": 7, "path": "/shows/7/"}, [], "text", 5,
            {"nested": {"list": [1, "\t\n\r", None, 2.5, 12345678901234567890]}},
            {"k\u0000": 1}, {"": {"\\": "\\\\"}}]  # fmt: skip
CONTEXTS = [None, {}, {"user_agent": "curl/8.5.0"}, {"user_agent": FIREFOX}, {"user_agent": 5},
            {"user_agent": ""}, {"user_agent": 0}, {"user_agent": None}, [],
            {"page": {"path": "/a\\b"}, "locale": "en-US"}]  # fmt: skip


def as_parsed(batch):
    """The batch with every JSONText parsed, so both paths' results compare as values."""

    def plain(value):
        return orjson.loads(bytes(value)) if isinstance(value, JSONText) else value

    events = [
        CleanEvent(e.message_id, e.event, e.distinct_id, e.timestamp, plain(e.properties),
                   plain(e.context), e.link)
        for e in batch.events
    ]  # fmt: skip
    return events, batch.positions, batch.rejections, batch.duplicates_in_batch, batch.bots


def random_event(rng: random.Random, n: int) -> dict:
    def pick(values: list, plain):  # a plain value half the time, else any
        return plain if rng.random() < 0.5 else rng.choice(values)

    event = {
        "event": pick(NAMES, "vote_cast"),
        "distinct_id": pick(NAMES, "anon-1"),
        "message_id": pick([f"m{n // 3}", "", None, 7, "x" * 201], f"m{n}"),
        "timestamp": pick(STAMPS, "2026-06-01T11:59:00Z"),
        "sent_at": pick(STAMPS, None),
        "properties": pick(MAPPINGS, {"show_id": 7}),
        "context": pick(CONTEXTS, {"user_agent": FIREFOX}),
    }
    return {key: value for key, value in event.items() if value is not None or rng.random() < 0.3}


def both(body, user_agent=FIREFOX):
    raw = orjson.dumps(body)
    parsed = clean_batch(body, received_at=NOW, user_agent=user_agent, check_values=True)
    fast = clean_batch_json(raw, received_at=NOW, user_agent=user_agent)
    return as_parsed(fast), as_parsed(parsed), fast


@pytest.mark.parametrize("seed", range(6))
def test_json_path_equals_the_parsed_path_on_mixed_batches(seed):
    rng = random.Random(seed)
    batch = [random_event(rng, n) for n in range(400)]
    body = {"batch": batch, "sent_at": rng.choice([None, "2026-06-01T12:10:00Z"])}
    # Generated message ids differ between runs: give every event one.
    for n, event in enumerate(batch):
        if not isinstance(event.get("message_id"), str) or not event["message_id"]:
            event["message_id"] = f"given-{n}"

    fast, parsed, batch = both(body)

    assert fast == parsed
    # The mixture exercises both outcomes, and both ways to keep an event.
    assert len(batch.events) > 40 and len(batch.rejections) > 40
    read_as_json = sum(isinstance(e.properties, JSONText) for e in batch.events)
    assert 20 < read_as_json < len(batch.events)


def test_json_path_keeps_properties_and_context_as_sent():
    body = {"batch": [{"event": "e", "distinct_id": "d", "properties": {"a": [1, 2]}}]}

    _, _, fast = both(body)

    [event] = fast.events
    assert isinstance(event.properties, JSONText) and event.properties == b'{"a":[1,2]}'
    assert event.context == b"{}"


@pytest.mark.parametrize(
    "event",
    [
        {"event": "e", "distinct_id": "d"},
        {"event": "e", "distinct_id": "d", "timestamp": "2026-06-01T11:00:00Z"},
        {"event": "e", "distinct_id": "d", "sent_at": "2026-06-01T12:10:00Z",
         "timestamp": "2026-06-01T12:05:00Z"},
        {"event": "", "distinct_id": "d"},
        {"event": "e", "distinct_id": "d", "properties": [1]},
    ],
)  # fmt: skip
def test_a_single_event_body_reads_as_clean_batch_reads_it(event):
    event = {**event, "message_id": "one"}

    fast, parsed, _ = both(event)

    assert fast == parsed


def test_missing_message_ids_are_made_on_both_paths():
    body = {"batch": [{"event": "e", "distinct_id": "d"}] * 2}

    _, _, fast = both(body)

    assert [len(e.message_id) for e in fast.events] == [32, 32]
    assert fast.events[0].message_id != fast.events[1].message_id


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"{oops", "not valid JSON"),
        (b'{"batch": "x"}', "must be a list"),
        (b'{"batch": []}', "empty"),
        (b'{"batch": null}', "must be a list"),
        (b"[1, 2]", "must be an event object"),
        (b'{"batch": [{}], "sent_at": 5}', "ISO 8601"),
        (b'{"batch": [{"event": "\xff"}]}', "not valid JSON"),
        (b'{"batch": [' + b"[" * 2000 + b"]" * 2000 + b"]}", "not valid JSON"),
    ],
)
def test_an_unusable_body_is_refused_as_the_parsed_path_refuses_it(raw, message):
    with pytest.raises(BatchError, match=message):
        clean_batch_json(raw, received_at=NOW)


def test_the_batch_limit_holds_on_the_json_path():
    body = orjson.dumps({"batch": [{"event": "e", "distinct_id": "d"}] * 1001})

    with pytest.raises(BatchError) as error:
        clean_batch_json(body, received_at=NOW)

    assert error.value.status == 413


def test_bots_and_repeats_are_counted_alike_on_both_paths():
    bot = {"event": "e", "distinct_id": "d", "message_id": "b", "context": {"user_agent": "curl/8"}}
    events = itertools.cycle([{"event": "e", "distinct_id": "d", "message_id": "same"}, bot])
    body = {"batch": [next(events) for _ in range(6)]}

    fast, parsed, _ = both(body)

    assert fast == parsed
    assert (len(fast[0]), fast[3], fast[4]) == (1, 2, 3)


def outcome(read, raw: bytes):
    """What one path makes of the body: the batch's values, or the error's status and text."""
    try:
        return as_parsed(read(raw))
    except BatchError as error:  # orjson's wording of bad JSON, and msgspec's, may differ
        return error.status, error.message.split(":")[0]


def json_read(raw):
    return clean_batch_json(raw, received_at=NOW, user_agent=FIREFOX)


def parsed_read(raw):
    from analytics.ingest.json_batch import parse_body

    return clean_batch(parse_body(raw)[0], received_at=NOW, user_agent=FIREFOX, check_values=True)


def event_with(fields: bytes) -> bytes:
    return b'{"event":"e","distinct_id":"d","message_id":"m",' + fields + b"}"


# Bodies that part msgspec from orjson, or the JSON path's checks from clean_event's.
EDGE_BODIES = {
    "context user agent past a double": event_with(b'"context":{"user_agent":1e400}'),
    "negative, in a batch": b'{"batch":[' + event_with(b'"context":{"user_agent":-1E+400}') + b"]}",
    "property past a double": b'{"batch":[' + event_with(b'"properties":{"n":1e400 }') + b"]}",
    "400-digit integer": event_with(b'"properties":{"n":' + b"9" * 400 + b"}"),
    "past a double, parsed-path event": b'{"batch":[{"event":5,"distinct_id":"d",'
    b'"properties":{"n":[1e400]}}]}',
    "rounds to zero": event_with(b'"properties":{"a":1e-20000}'),
    "empty batch, bad sent_at": b'{"batch": [], "sent_at": "garbage"}',
    "empty batch, early sent_at": b'{"batch": [], "sent_at": "1999-12-31T23:59:59Z"}',
    "1001 events, bad sent_at": orjson.dumps(
        {"batch": [{"event": "e", "distinct_id": "d"}] * 1001, "sent_at": "x"}
    ),
    "duplicate batch keys": b'{"batch":[{"event":"a","distinct_id":"d","message_id":"1"}],'
    b'"batch":[{"event":"b","distinct_id":"d","message_id":"2"}]}',
    "duplicate properties, object last": event_with(b'"properties":5,"properties":{"a":1}'),
    "duplicate properties, number last": event_with(b'"properties":{"a":1},"properties":5'),
    "duplicate user agents": event_with(
        b'"context":{"user_agent":"Firefox","user_agent":"curl/8"}'
    ),
    "escaped key names": b'{"ev\\u0065nt":"e","distinct_id":"d","message_id":"m",'
    b'"context":{"user\\u005fagent":"curl/8"}}',
    "escapes in names": b'{"event":"a\\/b\\u2028\\ud83d\\ude00","distinct_id":"\\t\\n\\r\\\\N",'
    b'"message_id":"\\\\."}',
    "numbers and whitespace": b' {"event":"e","distinct_id":"d","message_id":"m","properties":'
    b'\r\n\t{"a":-0,"b":1E5,"c":1e-40,"d":12345678901234567890} } ',
    "falsy user agent": event_with(b'"context":{"user_agent":-0.0}'),
    "compact timestamps": b'{"batch":[{"event":"e","distinct_id":"d","message_id":"m",'
    b'"timestamp":"20260601T110000","sent_at":"2026-06-01 11:30Z"}],'
    b'"sent_at":"2026-06-01T12:10:00+02:00"}',
    "nanoseconds": b'{"batch":[{"event":"e","distinct_id":"d","message_id":"m",'
    b'"timestamp":"2026-06-01T11:00:00.123456789Z"}],"sent_at":null}',
    "offset of 16 hours": event_with(b'"timestamp":"2026-06-01T20:00:00+16:00"'),
    "offset with seconds": event_with(b'"timestamp":"2026-06-01T11:00:00+05:30:15.5"'),
    "past year 9999 in UTC": event_with(b'"timestamp":"9999-12-31T23:59:59-14:00"'),
    "escaped backslash before u0000": event_with(b'"properties":{"a":"\\\\u0000"}'),
    "batch of null": b'{"batch":null}',
    "batch of non-objects": b'{"batch":[1,"x",null,[]]}',
}


@pytest.mark.parametrize("raw", EDGE_BODIES.values(), ids=EDGE_BODIES.keys())
def test_edge_bodies_read_alike_on_both_paths(raw):
    assert outcome(json_read, raw) == outcome(parsed_read, raw)


def test_numbers_past_a_double_send_only_their_event_down_the_parsed_path():
    batch = json_read(b'{"batch":[' + event_with(b'"properties":{"n":1e400}') + b","
                      + EDGE_BODIES["numbers and whitespace"] + b"]}")  # fmt: skip

    [refused] = batch.rejections
    assert (refused.index, refused.message_id) == (0, "m")
    assert "double's range" in refused.message
    [event] = batch.events
    assert isinstance(event.properties, JSONText)  # 1E5 and a 20-digit integer are fine


GOOD = b'{"event":"e","distinct_id":"d","message_id":"good-%d","properties":{"a":"\\ud83d\\ude00"}}'
# Values a double's reader cannot take back, or PostgreSQL's jsonb refuses, wherever they are.
UNSTORABLE = {
    "infinite": (b'"properties":{"n":1e999}', "double's range"),
    "negative infinite": (b'"properties":{"n":-1E+999}', "double's range"),
    "400 digits": (b'"properties":{"n":' + b"9" * 400 + b"}", "double's range"),
    "5,000 digits": (b'"properties":{"n":-' + b"1" * 5000 + b"}", "double's range"),
    "deep in a list": (b'"context":{"page":[{"x":[1,2,3e400]}]}', "double's range"),
    "as a timestamp": (b'"timestamp":1e999', "double's range"),
    "lone high surrogate": (b'"properties":{"a":"x\\ud800"}', "lone surrogate"),
    "lone low surrogate": (b'"context":{"a":"\\udfff y"}', "lone surrogate"),
    "reversed pair": (b'"properties":{"a":"\\ude00\\ud83d"}', "lone surrogate"),
    "in a key": (b'"properties":{"\\udc00":1}', "lone surrogate"),
    "in the name": (b'"event":"x\\ud800"', "lone surrogate"),
}


def bad_event(fields: bytes) -> bytes:
    if fields.startswith(b'"event"'):
        return b'{"distinct_id":"d","message_id":"bad",' + fields + b"}"
    return b'{"event":"e","distinct_id":"d","message_id":"bad",' + fields + b"}"


@pytest.mark.parametrize("fields,message", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_an_unstorable_value_refuses_its_event_alone_on_both_paths(fields, message):
    raw = b'{"batch":[' + GOOD % 1 + b"," + bad_event(fields) + b"," + GOOD % 2 + b"]}"

    fast, parsed = outcome(json_read, raw), outcome(parsed_read, raw)

    assert fast == parsed
    events, positions, [refused], _, _ = fast
    assert [e.message_id for e in events] == ["good-1", "good-2"] and positions == [0, 2]
    assert (refused.index, refused.message_id) == (1, "bad")
    assert message in refused.message
    assert events[0].properties == {"a": "\U0001f600"}  # a pair is a character, and kept


@pytest.mark.parametrize("fields,message", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_a_single_unstorable_event_is_refused_as_an_event(fields, message):
    fast = outcome(json_read, bad_event(fields))

    assert fast == outcome(parsed_read, bad_event(fields))
    [refused] = fast[2]
    assert fast[0] == [] and message in refused.message


def test_a_message_id_that_cannot_be_written_back_is_not_repeated():
    batch = json_read(b'{"batch":[{"event":"e","distinct_id":"d","message_id":"\\ud800"}]}')

    [refused] = batch.rejections
    assert refused.message_id is None and "lone surrogate" in refused.message


@pytest.mark.parametrize("fields", [b'"properties":{"n":NaN}', b'"properties":{"n":1e999},'])
def test_what_is_not_json_stays_a_bad_body(fields):
    with pytest.raises(BatchError, match="not valid JSON"):
        json_read(b'{"batch":[' + bad_event(fields) + b"]}")

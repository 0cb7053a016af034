import datetime as dt

import pytest

from analytics.ingest.validation import (
    BatchError,
    anonymize_ip,
    clean_batch,
    clean_event,
    is_bot,
    parse_timestamp,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def event(**fields):
    return {"event": "vote_cast", "distinct_id": "anon-1", **fields}


def test_clean_event_defaults_timestamp_to_arrival_and_makes_a_message_id():
    clean = clean_event(event(), received_at=NOW)

    assert clean.timestamp == NOW
    assert len(clean.message_id) == 32
    assert clean.properties == {} and clean.context == {}


def test_clock_skew_is_corrected_from_sent_at():
    # The client's clock is 10 minutes fast: it says it sent at 12:10, we got it at 12:00.
    raw = event(timestamp="2026-06-01T12:05:00Z", sent_at="2026-06-01T12:10:00Z")

    assert clean_event(raw, received_at=NOW).timestamp == dt.datetime(
        2026, 6, 1, 11, 55, tzinfo=dt.UTC
    )


def test_batch_sent_at_applies_to_every_event():
    body = {
        "batch": [event(timestamp="2026-06-01T13:00:00+01:00")],
        "sent_at": "2026-06-01T12:00:30Z",
    }

    batch = clean_batch(body, received_at=NOW)

    assert batch.events[0].timestamp == dt.datetime(2026, 6, 1, 11, 59, 30, tzinfo=dt.UTC)


def test_old_timestamps_are_kept_for_imports():
    clean = clean_event(event(timestamp="2019-01-01T00:00:00Z"), received_at=NOW)

    assert clean.timestamp.year == 2019


def test_more_than_23_hours_ahead_is_rejected_but_22_is_not():
    ok = clean_event(event(timestamp="2026-06-02T10:00:00Z"), received_at=NOW)

    assert ok.timestamp.day == 2
    with pytest.raises(ValueError, match="23 hours in the future"):
        clean_event(event(timestamp="2026-06-02T11:00:01Z"), received_at=NOW)


@pytest.mark.parametrize(
    "raw,message",
    [
        ([], "must be a JSON object"),
        ({"distinct_id": "a"}, "'event' is required"),
        ({"event": "x"}, "'distinct_id' is required"),
        (event(event=5.5), "'event' must be a string"),
        (event(event="x" * 201), "longer than 200"),
        (event(properties=[1]), "'properties' must be an object"),
        (event(context="web"), "'context' must be an object"),
        (event(timestamp="yesterday"), "'timestamp'"),
        (event(timestamp=12), "'timestamp' must be an ISO 8601"),
        (event(sent_at="soon"), "'sent_at'"),
    ],
)
def test_bad_events_say_what_is_wrong(raw, message):
    with pytest.raises(ValueError, match=message):
        clean_event(raw, received_at=NOW)


def test_integer_distinct_ids_are_accepted_as_text():
    assert clean_event(event(distinct_id=42), received_at=NOW).distinct_id == "42"


def test_batch_keeps_good_events_and_reports_bad_ones_by_index():
    body = {"batch": [event(message_id="a"), {"event": "x"}, event(message_id="b"), "junk"]}

    batch = clean_batch(body, received_at=NOW)

    assert [e.message_id for e in batch.events] == ["a", "b"]
    assert [(r.index, r.message) for r in batch.rejections] == [
        (1, "'distinct_id' is required"),
        (3, "an event must be a JSON object"),
    ]


def test_repeats_inside_a_batch_are_counted_once():
    batch = clean_batch({"batch": [event(message_id="a")] * 3}, received_at=NOW)

    assert len(batch.events) == 1 and batch.duplicates_in_batch == 2


def test_bots_are_filtered_by_context_or_request_user_agent():
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    body = {
        "batch": [event(message_id="a", context={"user_agent": googlebot}), event(message_id="b")]
    }

    assert clean_batch(body, received_at=NOW, user_agent=firefox).bots == 1
    assert clean_batch(body, received_at=NOW, user_agent="curl/8.5.0").bots == 2
    assert not is_bot(firefox) and not is_bot(None) and not is_bot(12)


@pytest.mark.parametrize(
    "body,status",
    [
        ("text", 400),
        ([1, 2], 400),
        ({"batch": "x"}, 400),
        ({"batch": []}, 400),
        ({"batch": [event()] * 1001}, 413),
        ({"batch": [event()], "sent_at": "whenever"}, 400),
    ],
)
def test_unusable_bodies_raise_batch_error(body, status):
    with pytest.raises(BatchError) as error:
        clean_batch(body, received_at=NOW)
    assert error.value.status == status


def test_anonymize_ip():
    assert anonymize_ip("203.0.113.77") == "203.0.113.0"
    assert anonymize_ip("2001:db8:abcd:12:34::1") == "2001:db8:abcd::"
    assert anonymize_ip("not an ip") is None and anonymize_ip(None) is None


def test_parse_timestamp_takes_naive_times_as_utc():
    assert parse_timestamp("2026-01-01T00:00:00") == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

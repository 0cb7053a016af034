"""A batch body read straight from its JSON, under validation's rules. No Django, no database.

msgspec reads the body's structure and each event's top-level fields, and keeps every
event's properties and context as the text they came in (JSONText): checked to be
well-formed, never built as Python objects, never serialised again. An event of the plain
shape nearly every sender uses is cleaned here; any other goes to validation.clean_event as
parsed JSON, which decides it and words its error. Either way the result is the one
clean_batch gives for the parsed body (tests/analytics/test_json_batch.py holds them to it).
"""

import datetime as dt
import re
import uuid

import msgspec
import orjson

from .validation import (
    EARLIEST,
    FUTURE_LIMIT,
    MAX_NAME,
    BatchError,
    CleanBatch,
    CleanEvent,
    JSONText,
    Rejection,
    batch_size_check,
    clean_batch,
    clean_batch_sent_at,
    clean_parsed,
    gather,
    parse_timestamp,
)

NUL = b"\\u0000"  # a NUL can only arrive escaped in JSON

# Numbers a double cannot hold, which orjson refuses and PostgreSQL's numeric may take, to
# come back to Python as inf or past its 4,300-digit limit: looked for with every digit as
# 0, an exponent of three digits or more ending its number, or a hundred digits in a row.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_EXPONENTS = [re.compile(rb"e[-+]?000+[,}\]\s]"), re.compile(rb"E[-+]?000+[,}\]\s]")]
_HUNDRED_DIGITS = b"0" * 100


def _past_a_double(raw: bytes) -> bool:
    """True if the body may hold a number past a double's range (or a string that looks
    like one, which the parsed path then reads to the same result)."""
    zeroed = raw.translate(_DIGITS_AS_ZERO)
    return _HUNDRED_DIGITS in zeroed or any(p.search(zeroed) for p in _EXPONENTS)


class _Body(msgspec.Struct):
    """A batch, or a single event when `batch` is absent (its own fields are then ignored
    here and read as the event's)."""

    batch: list[msgspec.Raw] | msgspec.UnsetType = msgspec.UNSET
    sent_at: str | None = None


# Every field optional and of the one type the plain shape has: a missing or null field, or
# one of another type, leaves the event to clean_event.
class _Event(msgspec.Struct):
    event: str | None = None
    distinct_id: str | None = None
    message_id: str | None = None
    timestamp: str | None = None
    sent_at: str | None = None
    properties: msgspec.Raw = msgspec.Raw(b"{}")
    context: msgspec.Raw = msgspec.Raw(b"{}")


_BODY = msgspec.json.Decoder(_Body)
_EVENT = msgspec.json.Decoder(_Event)


def parse_body(raw: bytes):
    """Return the body parsed; raise BatchError when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BatchError(f"The body is not valid JSON: {exc}.") from exc


def _plain(fields: _Event, clock: tuple) -> CleanEvent | None:
    """Return the event as clean_event makes it when it has the plain shape, else None;
    clock is (received_at, the batch's sent_at or None)."""
    received_at, sent_at = clock
    name, distinct_id, message_id = fields.event, fields.distinct_id, fields.message_id
    if not (name and distinct_id and len(name) <= MAX_NAME and len(distinct_id) <= MAX_NAME):
        return None
    if message_id is None:
        message_id = uuid.uuid4().hex
    elif not 0 < len(message_id) <= MAX_NAME:
        return None
    if fields.sent_at is not None:  # the event's own clock overrides the batch's
        try:
            sent_at = parse_timestamp(fields.sent_at)
        except ValueError:
            return None
        if sent_at < EARLIEST:
            return None
    # bytes() first: a subclass built from the Raw reads it through its buffer, far slower.
    properties, context = JSONText(bytes(fields.properties)), JSONText(bytes(fields.context))
    if not (properties.startswith(b"{") and context.startswith(b"{")):
        return None
    if fields.timestamp is None:
        return CleanEvent(message_id, name, distinct_id, received_at, properties, context)
    try:
        stamped = parse_timestamp(fields.timestamp)
        timestamp = stamped if sent_at is None else stamped + (received_at - sent_at)
    except (ValueError, OverflowError):
        return None
    if stamped < EARLIEST or timestamp < EARLIEST or timestamp > received_at + FUTURE_LIMIT:
        return None
    return CleanEvent(message_id, name, distinct_id, timestamp, properties, context)


def _clean(index: int, raw: msgspec.Raw | bytes, clock: tuple, check_nul: bool):
    if not (check_nul and NUL in bytes(raw)):
        try:
            fields = _EVENT.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            pass
        else:
            event = _plain(fields, clock)
            if event is not None:
                return event
    try:
        parsed = orjson.loads(bytes(raw))
    except orjson.JSONDecodeError as exc:
        return Rejection(index, f"the event is not valid JSON: {exc}")
    return clean_parsed(index, parsed, clock, check_nul)


def clean_batch_json(
    raw: bytes, *, received_at: dt.datetime, user_agent: str | None = None
) -> CleanBatch:
    """As clean_batch for the body `raw` parsed; a batch's events keep their properties and
    context as JSONText. Raise BatchError when the body is not JSON or unusable as a whole.
    """
    check_nul = NUL in raw
    try:
        if not raw.isascii():
            raw.decode()  # msgspec leaves the UTF-8 of the values it skips unchecked
        body = None if _past_a_double(raw) else _BODY.decode(raw)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError):
        body = None
    if body is None:  # an unusual body: clean_batch reads it, and words what is wrong
        return clean_batch(
            parse_body(raw), received_at=received_at, user_agent=user_agent, check_nul=check_nul
        )
    if body.batch is msgspec.UNSET:
        return gather([_clean(0, raw, (received_at, None), check_nul)], user_agent)
    clock = (received_at, clean_batch_sent_at(body.sent_at))
    batch_size_check(body.batch)
    return gather(
        (_clean(index, event, clock, check_nul) for index, event in enumerate(body.batch)),
        user_agent,
    )

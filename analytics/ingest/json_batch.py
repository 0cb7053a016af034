"""A batch body read straight from its JSON, under validation's rules. No Django, no database.

msgspec reads the body's structure and each event's top-level fields, and keeps every
event's properties and context as the text they came in (JSONText): checked to be
well-formed, never built as Python objects, never serialised again. An event of the plain
shape nearly every sender uses is cleaned here; any other goes to validation.clean_event as
parsed JSON, which decides it and words its error. Either way the result is the one
clean_batch gives for the parsed body (tests/analytics/test_json_batch.py holds them to it).

JSON that orjson refuses although it is well-formed (a number past a double's range, a
surrogate escaped alone, in a value or a key) is read by the standard library instead, so
that such an event is refused alone (validation.unstorable), not the body it came in: a
double's reader would take the number back as infinity, and PostgreSQL's jsonb refuses a
lone surrogate. Only bodies that may hold one go that slow way.
"""

import datetime as dt
import json
import re
import uuid

import msgspec
import orjson

from analytics.ingest.validation import (
    ACCOUNT,
    EARLIEST,
    FUTURE_LIMIT,
    LINK_FIELDS,
    MAX_NAME,
    BatchError,
    CleanBatch,
    CleanEvent,
    JSONText,
    Rejection,
    account_id,
    batch_size_check,
    clean_batch,
    clean_batch_sent_at,
    clean_parsed,
    gather,
    parse_timestamp,
)
from mysetlist.core.json_depth import MAX_DEPTH, brackets

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


def _integer(text: str):
    # As orjson reads one: past 64 bits it is a double (infinite past a double's range).
    if len(text) <= 20:
        number = int(text)
        if -(2**63) <= number < 2**64:
            return number
    return float(text)


def _constant(text: str):
    raise ValueError(f"{text} is not JSON")


_LOOSE = json.JSONDecoder(parse_int=_integer, parse_constant=_constant)


def _loose_loads(raw: bytes):
    """Return the JSON parsed as orjson parses it, but for what orjson refuses in well-formed
    JSON: numbers past a double's range (read as infinite) and lone surrogates (kept)."""
    return _LOOSE.decode(raw.decode())


def loads(raw: bytes) -> tuple[object, bool]:
    """Return the JSON parsed, and whether it was read loosely (see _loose_loads), when its
    values must be checked (validation.unstorable). Raise orjson.JSONDecodeError when it is
    not JSON."""
    try:
        return orjson.loads(raw), False
    except orjson.JSONDecodeError as refused:
        try:
            return _loose_loads(raw), True
        except (ValueError, RecursionError):
            raise refused from None


def parse_body(raw: bytes) -> tuple[object, bool]:
    """As loads; raise BatchError when the body is not JSON."""
    try:
        return loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BatchError(f"The body is not valid JSON: {exc}.") from exc


def _plain(fields: _Event, clock: tuple, public: bool) -> CleanEvent | None:
    """Return the event as clean_event makes it when it has the plain shape, else None;
    clock is (received_at, the batch's sent_at or None)."""
    received_at, sent_at = clock
    name, distinct_id, message_id = fields.event, fields.distinct_id, fields.message_id
    if not (name and distinct_id and len(name) <= MAX_NAME and len(distinct_id) <= MAX_NAME):
        return None
    if name in LINK_FIELDS or (
        distinct_id.startswith(ACCOUNT) and (public or account_id(distinct_id) is None)
    ):
        return None  # an identify or alias event, or one clean_event refuses
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


def _clean(index: int, raw: msgspec.Raw | bytes, clock: tuple, suspect: bool, public: bool):
    """Clean one event of a body msgspec read; `suspect` when the body may hold a NUL or a
    number past a double's range (the event is then read the parsed way if it does)."""
    text = bytes(raw)
    # Nested deeper than the plain shape allows, or holding what cannot be stored: the parsed
    # way decides, and refuses this event alone.
    if brackets(text) <= MAX_DEPTH and not (suspect and (NUL in text or _past_a_double(text))):
        try:
            fields = _EVENT.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            pass
        else:
            event = _plain(fields, clock, public)
            if event is not None:
                return event
    try:
        parsed, loose = loads(text)
    except orjson.JSONDecodeError as exc:
        return Rejection(index, f"the event is not valid JSON: {exc}")
    return clean_parsed(index, parsed, clock, loose or (suspect and NUL in text), public)


def clean_batch_json(
    raw: bytes, *, received_at: dt.datetime, user_agent: str | None = None, public: bool = False
) -> CleanBatch:
    """As clean_batch for the body `raw` parsed; a batch's events keep their properties and
    context as JSONText. Raise BatchError when the body is not JSON or unusable as a whole.
    """
    # Two scans of the body, each rarely true: only then is each event looked at for them.
    suspect = NUL in raw or _past_a_double(raw)
    try:
        if not raw.isascii():
            raw.decode()  # msgspec leaves the UTF-8 of the values it skips unchecked
        body = _BODY.decode(raw)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError):
        body = None
    if body is None:  # an unusual body: clean_batch reads it, and words what is wrong
        parsed, loose = parse_body(raw)
        return clean_batch(
            parsed,
            received_at=received_at,
            user_agent=user_agent,
            check_values=loose or NUL in raw,
            public=public,
        )
    if body.batch is msgspec.UNSET:
        return gather([_clean(0, raw, (received_at, None), suspect, public)], user_agent)
    clock = (received_at, clean_batch_sent_at(body.sent_at))
    batch_size_check(body.batch)
    return gather(
        (_clean(index, event, clock, suspect, public) for index, event in enumerate(body.batch)),
        user_agent,
    )

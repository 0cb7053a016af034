"""Validation of incoming analytics events. Pure Python: no Django, no database."""

import datetime as dt
import functools
import ipaddress
import math
import re
import uuid
from dataclasses import dataclass, field

import msgspec

from mysetlist.core.json_depth import MAX_DEPTH, nesting_exceeds

MAX_BATCH_EVENTS = 1000
MAX_BODY_BYTES = 1_000_000
FUTURE_LIMIT = dt.timedelta(hours=23)
# Nothing the platform measures happened earlier; the bound keeps dates sane for storage.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_NAME = 200

# Crawlers, link previewers, monitors and headless browsers; matched on the user agent.
BOT_USER_AGENT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|quora link"
    r"|bingpreview|headlesschrome|phantomjs|lighthouse|pingdom|uptimerobot|statuscake"
    r"|python-requests|python-urllib|curl/|wget/|go-http-client|okhttp|scrapy|httpclient",
    re.IGNORECASE,
)


class BatchError(ValueError):
    """The body as a whole is unusable; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


class JSONText(bytes):
    """A JSON value exactly as the sender wrote it: checked to be well-formed, not parsed.

    A batch's properties and contexts stay so from the request body to the database, which
    parses them anyway: building them as Python objects and serialising them again cost
    more than the rest of the request.
    """


@dataclass(frozen=True, slots=True)
class CleanEvent:
    message_id: str
    event: str
    distinct_id: str
    timestamp: dt.datetime
    # A dict, or a JSONText holding a JSON object.
    properties: dict | JSONText
    context: dict | JSONText
    # The anonymous distinct id an identify or alias event says is this account (see _link).
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    message: str
    message_id: str | None = None


@dataclass(frozen=True)
class CleanBatch:
    events: list[CleanEvent] = field(default_factory=list)
    # Each event's index in the body, for errors found after validation.
    positions: list[int] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    duplicates_in_batch: int = 0
    bots: int = 0


def parse_timestamp(value) -> dt.datetime:
    """Return a datetime in UTC from an ISO 8601 string; naive times are taken as UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 date-time string")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    # In UTC: Python takes offsets up to 24 hours and with fractions of a second, which
    # PostgreSQL refuses as text (COPY writes it so).
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError(
            f"is before {EARLIEST:%Y-%m-%d}" if parsed.year < 2000 else "is past year 9999"
        ) from exc


@functools.lru_cache(maxsize=4096)  # a sender's address repeats request after request
def anonymize_ip(value: str | None) -> str | None:
    """Return the address with its host part zeroed: /24 for IPv4, /48 for IPv6."""
    try:
        address = ipaddress.ip_address(value or "")
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


@functools.lru_cache(maxsize=4096)
def _bot_agent(user_agent: str) -> bool:
    return BOT_USER_AGENT.search(user_agent) is not None


def is_bot(user_agent) -> bool:
    # Remembered: a batch repeats the same few agents, and the pattern is costly.
    return isinstance(user_agent, str) and _bot_agent(user_agent)


def _name(raw: dict, key: str, *, required: bool) -> str | None:
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        if required:
            raise ValueError(f"'{key}' is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    if len(value) > MAX_NAME:
        raise ValueError(f"'{key}' is longer than {MAX_NAME} characters")
    return value


def _mapping(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' must be an object")
    return value


def _timestamp(raw: dict, key: str) -> dt.datetime | None:
    if raw.get(key) is None:
        return None
    try:
        moment = parse_timestamp(raw[key])
    except ValueError as exc:
        raise ValueError(f"'{key}' {exc}") from exc
    if moment < EARLIEST:
        raise ValueError(f"'{key}' is before {EARLIEST:%Y-%m-%d}")
    return moment


# What PostgreSQL's jsonb refuses in text (NUL, a surrogate alone) and what no reader of a
# double can take back (a number past ±1.8e308, which orjson refuses and Python reads as
# inf); an integer past 64 bits is what orjson cannot write.
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
NUL_TEXT = "text may not contain NUL characters"
SURROGATE_TEXT = "text may not contain a lone surrogate (\\ud800 to \\udfff)"
HUGE_NUMBER = "numbers must be within a double's range (about ±1.8e308)"
HUGE_INTEGER = "integers must fit in 64 bits"


def unstorable(value) -> str | None:
    """Return why the value, keys included, cannot be stored as JSON and read back as it
    was sent, or None when it can."""
    if isinstance(value, str):
        found = _UNSTORABLE_TEXT.search(value)
        if found is None:
            return None
        return NUL_TEXT if found.group() == "\x00" else SURROGATE_TEXT
    if isinstance(value, float):
        return None if math.isfinite(value) else HUGE_NUMBER
    if isinstance(value, int):
        return None if -(2**63) <= value < 2**64 else HUGE_INTEGER
    if isinstance(value, dict):
        for key, item in value.items():
            if reason := unstorable(key) or unstorable(item):
                return reason
    elif isinstance(value, list):
        for item in value:
            if reason := unstorable(item):
                return reason
    return None


ACCOUNT = "user:"  # a distinct id of the form user:<id> is that account

# Events that say an anonymous distinct id is the account sending them, and where each names
# that id (in its properties, or beside them): PostHog's $identify ($anon_distinct_id) and
# $create_alias (alias), Segment's identify (anonymousId, as its HTTP API names it, or
# anonymous_id) and alias (previousId or previous_id).
LINK_FIELDS = {
    "$identify": ("$anon_distinct_id", "anonymous_id", "anonymousId"),
    "identify": ("anonymous_id", "anonymousId", "$anon_distinct_id"),
    "signed_up": ("$anon_distinct_id", "anonymous_id", "anonymousId"),
    "$create_alias": ("alias", "previous_id", "previousId"),
    "alias": ("previous_id", "previousId", "alias"),
}
PUBLIC_ACCOUNT = (
    "a public key cannot send events as an account (user:<id>): the site records a signed-in"
    " user's own events, and their browser's events count as theirs once they log in"
)
PUBLIC_LINK = (
    "a public key cannot link distinct ids: the site links a browser's id to the account"
    " when the user logs in"
)


def account_id(distinct_id: str) -> int | None:
    """Return the id of the account a distinct id user:<id> names, else None."""
    if not distinct_id.startswith(ACCOUNT):
        return None
    digits = distinct_id[len(ACCOUNT) :]
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18) or digits[0] == "0":
        return None
    return int(digits)


def _account_check(distinct_id: str, public: bool) -> None:
    if distinct_id.startswith(ACCOUNT):
        if public:
            raise ValueError(PUBLIC_ACCOUNT)
        if account_id(distinct_id) is None:
            raise ValueError("'distinct_id' user:<id> names an account by its number")


def _link(raw: dict, name: str, distinct_id: str, properties: dict, public: bool) -> str | None:
    """Return the anonymous id an identify or alias event links to its account, if any."""
    fields = LINK_FIELDS.get(name)
    if fields is None:
        return None
    found = [(f, holder[f]) for f in fields for holder in (properties, raw) if f in holder]
    if not found:
        return None
    if public:
        raise ValueError(PUBLIC_LINK)
    field_name, anonymous = found[0]
    if not isinstance(anonymous, str) or not 0 < len(anonymous) <= MAX_NAME:
        raise ValueError(f"'{field_name}' must be a distinct id of 1 to {MAX_NAME} characters")
    if anonymous.startswith(ACCOUNT):
        raise ValueError(f"'{field_name}' must be an anonymous id: accounts are not merged")
    if account_id(distinct_id) is None:
        raise ValueError(f"'{name}' is sent by the account it links to: 'distinct_id' user:<id>")
    return anonymous


def clean_event(
    raw,
    *,
    received_at: dt.datetime,
    batch_sent_at: dt.datetime | None = None,
    public: bool = False,
) -> CleanEvent:
    """Return the event validated and its time corrected for the client's clock skew.

    A client whose clock is off stamps both `timestamp` and `sent_at` with the same error,
    so the event happened at timestamp + (received_at - sent_at).

    Only the site's own servers (a secret key) may send events as an account (user:<id>)
    or link an anonymous id to one (an identify or alias event, see LINK_FIELDS): a public
    key is in every page, for anyone to send with.
    """
    if not isinstance(raw, dict):
        raise ValueError("an event must be a JSON object")
    name = _name(raw, "event", required=True)
    distinct_id = _name(raw, "distinct_id", required=True)
    _account_check(distinct_id, public)
    message_id = _name(raw, "message_id", required=False) or uuid.uuid4().hex
    properties = _mapping(raw, "properties")
    context = _mapping(raw, "context")
    link = _link(raw, name, distinct_id, properties, public)
    timestamp = _timestamp(raw, "timestamp")
    sent_at = _timestamp(raw, "sent_at") or batch_sent_at
    if timestamp is None:
        timestamp = received_at
    elif sent_at is not None:
        try:
            timestamp += received_at - sent_at
        except OverflowError as exc:
            raise ValueError("'timestamp' and 'sent_at' are too far apart") from exc
    if timestamp > received_at + FUTURE_LIMIT:
        raise ValueError("'timestamp' is more than 23 hours in the future")
    if timestamp < EARLIEST:
        raise ValueError(f"'timestamp' is before {EARLIEST:%Y-%m-%d}")
    return CleanEvent(message_id, name, distinct_id, timestamp, properties, context, link)


def batch_size_check(raw_events: list) -> None:
    if not raw_events:
        raise BatchError("the batch is empty")
    if len(raw_events) > MAX_BATCH_EVENTS:
        raise BatchError(f"a batch holds at most {MAX_BATCH_EVENTS} events", status=413)


def clean_batch_sent_at(value) -> dt.datetime | None:
    try:
        return _timestamp({"sent_at": value}, "sent_at")
    except ValueError as exc:
        raise BatchError(str(exc)) from exc


def clean_parsed(
    index: int, raw, clock: tuple, check_values: bool, public: bool = False
) -> CleanEvent | Rejection:
    """Return the parsed event cleaned, or its rejection; clock is (received_at, the batch's
    sent_at or None). `check_values` looks for what cannot be stored (see unstorable)."""
    received_at, batch_sent_at = clock
    try:
        if nesting_exceeds(raw, None, MAX_DEPTH):
            raise ValueError(f"the event nests lists and objects deeper than {MAX_DEPTH} levels")
        if check_values and (reason := unstorable(raw)):
            raise ValueError(reason)
        return clean_event(raw, received_at=received_at, batch_sent_at=batch_sent_at, public=public)
    except ValueError as exc:
        message_id = raw.get("message_id") if isinstance(raw, dict) else None
        if not isinstance(message_id, str) or unstorable(message_id):
            message_id = None  # the answer repeats it: it must be text JSON can hold
        return Rejection(index, str(exc), message_id)


class _Agent(msgspec.Struct):
    user_agent: object = None


_AGENT = msgspec.json.Decoder(_Agent)


def context_user_agent(context: dict | JSONText):
    """Return the context's user_agent as sent (any JSON value), or None."""
    if isinstance(context, dict):
        return context.get("user_agent")
    return _AGENT.decode(context).user_agent


def gather(outcomes, user_agent: str | None) -> CleanBatch:
    """Return the batch of these cleaned events and rejections, in order: bots (by the
    event's user agent, else the request's) and repeated message ids left out."""
    events, positions, rejections, seen = [], [], [], set()
    duplicates = bots = 0
    for index, outcome in enumerate(outcomes):  # one outcome per event, in order
        if isinstance(outcome, Rejection):
            rejections.append(outcome)
        elif is_bot(context_user_agent(outcome.context) or user_agent):
            bots += 1
        elif outcome.message_id in seen:
            duplicates += 1
        else:
            seen.add(outcome.message_id)
            events.append(outcome)
            positions.append(index)
    return CleanBatch(events, positions, rejections, duplicates, bots)


def clean_batch(
    body,
    *,
    received_at: dt.datetime,
    user_agent: str | None = None,
    check_values: bool = True,
    public: bool = False,
) -> CleanBatch:
    """Validate one event or a batch; bad events are rejected one by one, bots dropped.

    `check_values=False` skips looking for values that cannot be stored (see unstorable),
    for a caller that knows the body has none: orjson read it, and it holds no NUL. A
    `public` sender's events may not speak for an account (see clean_event). Raise
    BatchError when the body as a whole is unusable.
    """
    if isinstance(body, dict) and "batch" in body:
        raw_events = body["batch"]
        if not isinstance(raw_events, list):
            raise BatchError("'batch' must be a list of events")
        batch_sent_at = clean_batch_sent_at(body.get("sent_at"))
    elif isinstance(body, dict):
        raw_events, batch_sent_at = [body], None
    else:
        raise BatchError('the body must be an event object or {"batch": [...]}')
    batch_size_check(raw_events)
    clock = (received_at, batch_sent_at)
    return gather(
        (
            clean_parsed(index, raw, clock, check_values, public)
            for index, raw in enumerate(raw_events)
        ),
        user_agent,
    )

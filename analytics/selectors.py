import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from analytics.models import (
    DailyUserStats,
    DistinctIdLink,
    EventRollup,
    Granularity,
    IngestKey,
    TimelineMinute,
)
from analytics.rollups.buckets import bucket_start
from analytics.rollups.people import person_keys
from analytics.rollups.timeline import micros, moments_unpack, person_number

_MEMO_SECONDS = 60
_MEMO_MAX = 10_000
_memo: dict[str, tuple["IngestSource", float]] = {}


@dataclass(frozen=True, slots=True)
class IngestSource:
    """The ingest key a request came with: its id and whether it is public (in pages, for
    anyone to read), which is all capture needs (a model instance costs a small request
    more than its validation)."""

    pk: int
    is_public: bool = False


def ingest_key_get(*, secret: str) -> IngestSource | None:
    """Return the active key with this secret.

    Answers are remembered for a minute in this process and in the shared cache: capture
    asks on every request, so disabling a key takes up to a minute to bite.
    """
    if not secret or len(secret) > 100:
        return None
    digest = IngestKey.hash(secret)
    remembered = _memo.get(digest)
    if remembered and remembered[1] > time.monotonic():
        source = remembered[0]
    else:
        cache_key = f"analytics:ingest-source:{digest}"
        found = cache.get(cache_key)
        if found is None:
            key = IngestKey.objects.filter(key_hash=digest, is_active=True).first()
            found = (key.pk, key.is_public) if key else (0, False)
            cache.set(cache_key, found, timeout=_MEMO_SECONDS)
        source = IngestSource(pk=found[0], is_public=found[1]) if found[0] else None
        if source:  # only real keys: a flood of made-up ones must not fill this process
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[digest] = (source, time.monotonic() + _MEMO_SECONDS)
    return source


def ingest_key_forget() -> None:
    """Drop this process's remembered answers (tests, or after disabling a key here)."""
    _memo.clear()


WEB_TRACKER_KEY_NAME = "web"
WEB_TRACKER_CACHE_KEY = "analytics:web-tracker-key"


def web_tracker_key_get() -> str | None:
    """Return the public key of the site's own tracker, or None when there is none."""
    cache_key = WEB_TRACKER_CACHE_KEY
    key = cache.get(cache_key)
    if key is None:
        found = IngestKey.objects.filter(
            name=WEB_TRACKER_KEY_NAME, is_public=True, is_active=True
        ).first()
        key = found.public_key if found else ""
        cache.set(cache_key, key, timeout=_MEMO_SECONDS)
    return key or None


def timeline_aliases(*, since: dt.datetime) -> dict[int, int]:
    """Map the timeline numbers of browsers linked to an account since `since` to the
    account's number."""
    aliases = {}
    links = DistinctIdLink.objects.filter(created_at__gte=since)
    for distinct_id, user_id in links.values_list("distinct_id", "user_id"):
        account, browser = person_keys(user_id=user_id, distinct_ids=[distinct_id])
        aliases[person_number(browser)] = person_number(account)
    return aliases


# A minute can be packed up to 23 hours before its time (events may be stamped that far
# ahead of their arrival): browsers linked since a day before the range may be in it
# under their anonymous number.
ALIAS_LEAD = dt.timedelta(hours=24)


@dataclass(frozen=True)
class TimelineEvents:
    """Events of the timeline as arrays, one row per event: the person's number, the time in
    microseconds since the epoch, and the event's code, its index in `names`."""

    names: list[str]
    person: np.ndarray
    at: np.ndarray
    code: np.ndarray


def timeline_events(
    *, start: dt.datetime, end: dt.datetime, names: list[str] | None = None
) -> TimelineEvents:
    """Return the timeline's events from start to end, inclusive, of those names (or of
    every name); browsers that have become accounts since are counted as the account."""
    minutes = TimelineMinute.objects.filter(
        minute__gte=bucket_start(start, "minute"), minute__lte=end
    )
    if names is not None:
        minutes = minutes.filter(event__in=names)
    packed: dict[str, list[bytes]] = defaultdict(list)
    for event, moments in minutes.values_list("event", "moments").iterator():
        packed[event].append(moments)
    names = sorted(packed) if names is None else names
    unpacked = [moments_unpack(b"".join(packed[name])) for name in names]
    person = np.concatenate([person for person, _ in unpacked] or [np.empty(0, np.int64)])
    at = np.concatenate([at for _, at in unpacked] or [np.empty(0, np.int64)])
    code = np.repeat(np.arange(len(names)), [len(at) for _, at in unpacked])
    inside = (at >= micros(start)) & (at <= micros(end))
    person, at, code = person[inside], at[inside], code[inside]
    aliases = timeline_aliases(since=start - ALIAS_LEAD)
    if aliases:
        browsers = np.array(sorted(aliases), dtype=np.int64)
        accounts = np.array([aliases[b] for b in browsers.tolist()], dtype=np.int64)
        found = np.isin(person, browsers)
        person[found] = accounts[np.searchsorted(browsers, person[found])]
    return TimelineEvents(names, person, at, code)


@dataclass(frozen=True)
class AccountDay:
    user_id: int
    day: dt.date
    events: int
    pageviews: int
    votes: int


def account_daily_activity(*, start: dt.date, end: dt.date) -> list[AccountDay]:
    """Return what each signed-in account did on each UTC day from start to end, inclusive
    (from the day rollups; browsers not linked to an account are left out)."""
    rows = (
        DailyUserStats.objects.filter(day__gte=start, day__lte=end, person__startswith="u:")
        .values_list("person", "day", "events", "pageviews", "votes")
        .iterator(chunk_size=5000)
    )
    out = []
    for person, day, events, pageviews, votes in rows:
        user = person[2:]
        if user.isdigit():
            out.append(AccountDay(int(user), day, events, pageviews, votes))
    return out


def event_name_known(*, name: str) -> bool:
    """Return whether any stored event has this name (its day rollups hold it)."""
    return EventRollup.objects.filter(
        granularity=Granularity.DAY, event=name, dimension=""
    ).exists()

"""Writes of the analytics app: ingestion, the platform's own tracking, keys and identities."""

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.ingest.json_batch import clean_batch_json
from analytics.ingest.storage import EventRow, events_write
from analytics.ingest.validation import (
    ACCOUNT,
    MAX_NAME,
    CleanBatch,
    CleanEvent,
    Rejection,
    account_id,
    anonymize_ip,
    clean_batch,
)
from analytics.models import DistinctIdLink, IngestKey
from analytics.selectors import WEB_TRACKER_CACHE_KEY, IngestSource
from mysetlist.users.models import User


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    bots: int
    errors: list[Rejection]


def events_ingest(
    *,
    body,
    received_at: dt.datetime,
    source: IngestSource | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
) -> IngestResult:
    """Validate and store one event or a batch; good events are kept when others are bad.

    Message ids are de-duplicated per source (ingest key). An event sent as an account
    (user:<id>) is stored as that user's, and an identify or alias event links its
    anonymous id to that user (distinct_id_link), but only from a secret key: a public
    key's are refused (validation.clean_event). Raise validation.BatchError when the body
    as a whole is unusable.
    """
    public = source is not None and source.is_public
    batch = clean_batch(body, received_at=received_at, user_agent=user_agent, public=public)
    return _batch_store(batch, received_at=received_at, source=source, ip=ip)


def events_ingest_json(
    *,
    raw: bytes,
    received_at: dt.datetime,
    source: IngestSource | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
) -> IngestResult:
    """As events_ingest, for a request body as it came: a batch's properties and contexts
    go to the database as the text they came in, unparsed."""
    public = source is not None and source.is_public
    batch = clean_batch_json(raw, received_at=received_at, user_agent=user_agent, public=public)
    return _batch_store(batch, received_at=received_at, source=source, ip=ip)


def _accounts(events: list[CleanEvent]) -> dict[int, User]:
    """The users that events sent as accounts name, by id: one query, none for a batch
    without such events (nearly every one)."""
    ids = {account_id(e.distinct_id) for e in events if e.distinct_id.startswith(ACCOUNT)}
    ids.discard(None)
    return User.objects.in_bulk(ids) if ids else {}


def _batch_store(
    batch: CleanBatch, *, received_at: dt.datetime, source: IngestSource | None, ip: str | None
) -> IngestResult:
    address = anonymize_ip(ip)
    accounts = _accounts(batch.events)
    rows, links, errors = [], [], list(batch.rejections)
    for index, event in zip(batch.positions, batch.events, strict=True):
        user_id = account_id(event.distinct_id)
        if user_id is not None and user_id not in accounts:
            errors.append(Rejection(index, f"no account has the id {user_id}", event.message_id))
            continue
        rows.append(EventRow(event=event, user_id=user_id, ip=address))
        if event.link is not None:
            links.append((event.link, accounts[user_id]))
    stored = events_write(rows=rows, received_at=received_at, scope=source.pk if source else 0)
    # Repeated, a batch links again, which changes nothing: a sender retrying a batch whose
    # answer it lost still links what the first try might not have.
    for anonymous_id, user in links:
        distinct_id_link(distinct_id=anonymous_id, user=user, trusted=True)
    return IngestResult(
        accepted=stored,
        duplicates=batch.duplicates_in_batch + len(rows) - stored,
        bots=batch.bots,
        errors=sorted(errors, key=lambda error: error.index),
    )


def track(
    *,
    event: str,
    user: User | None = None,
    distinct_id: str | None = None,
    properties: dict | None = None,
    context: dict | None = None,
    ip: str | None = None,
) -> None:
    """Record one event the platform itself saw, inside the caller's transaction."""
    if user is not None and not user.is_authenticated:
        user = None
    if distinct_id is None:
        if user is None:
            raise ValueError("track() needs a user or a distinct_id")
        distinct_id = f"{ACCOUNT}{user.pk}"
    now = timezone.now()
    row = _own_event(event, distinct_id, user.pk if user else None, now, properties, context, ip)
    events_write(rows=[row], received_at=now)


@dataclass(frozen=True)
class AccountEvent:
    """One event the platform saw an account do, for track_many."""

    event: str
    user_id: int
    timestamp: dt.datetime
    properties: dict


def track_many(*, events: list[AccountEvent]) -> int:
    """Record many events the platform itself saw accounts do, at once (one COPY on
    PostgreSQL), inside the caller's transaction; return how many were stored."""
    rows = [
        _own_event(e.event, f"{ACCOUNT}{e.user_id}", e.user_id, e.timestamp, e.properties)
        for e in events
    ]
    return events_write(rows=rows, received_at=timezone.now())


def _own_event(event, distinct_id, user_id, timestamp, properties, context=None, ip=None):
    """A row of an event the platform itself saw: no validation, as nobody else wrote it."""
    clean = CleanEvent(
        uuid.uuid4().hex, event, distinct_id, timestamp, properties or {}, context or {}
    )
    return EventRow(event=clean, user_id=user_id, ip=anonymize_ip(ip))


@transaction.atomic
def ingest_key_create(*, name: str, is_public: bool = False) -> tuple[IngestKey, str]:
    """Make an ingest key; return it with its secret, which only a public key keeps."""
    secret = IngestKey.generate()
    key = IngestKey(
        name=name,
        is_public=is_public,
        public_key=secret if is_public else "",
        prefix=secret[:10],
        key_hash=IngestKey.hash(secret),
    )
    key.full_clean()
    key.save()
    if is_public:  # pages show the new key at once, not after the cached answer expires
        transaction.on_commit(lambda: cache.delete(WEB_TRACKER_CACHE_KEY))
    return key, secret


ANONYMOUS_ID = re.compile(r"^[0-9a-f]{32}$")


def distinct_id_link(
    *, distinct_id: str, user: User, trusted: bool = False
) -> DistinctIdLink | None:
    """Record that an anonymous distinct id is this user; the first user to claim it keeps it.

    Only ids of the form the site hands out (32 hex digits) can be linked: a cookie is the
    visitor's to write, and linking "user:<id>" or another sender's ids would hand someone
    else's events to this account's export and erasure. A `trusted` caller, an identify or
    alias event from a secret ingest key (the site's own servers, whose SDKs make ids of
    their own forms), may link any id but an account's.
    """
    if not isinstance(distinct_id, str) or distinct_id.startswith(ACCOUNT):
        return None
    if not (trusted and 0 < len(distinct_id) <= MAX_NAME) and not ANONYMOUS_ID.match(distinct_id):
        return None
    try:
        with transaction.atomic():
            link, _ = DistinctIdLink.objects.get_or_create(
                distinct_id=distinct_id, defaults={"user": user}
            )
    except IntegrityError:
        link = DistinctIdLink.objects.filter(distinct_id=distinct_id).first()
    return link

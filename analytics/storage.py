"""Durable, exactly-once writes of events: a message id already seen is never stored again.

PostgreSQL: the keys of the batch's message ids go into EventMessageKey with ON CONFLICT DO
NOTHING RETURNING, which names the new ones even under concurrent requests; only those
events are then COPYed into the partitioned events table, in the same transaction. SQLite
has a single writer, so reading which keys exist and inserting the rest is as exact there.
"""

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

import orjson
from django.db import connection, transaction

from .models import Event, EventMessageKey
from .validation import CleanEvent

_COLUMNS = (
    "message_id, event, distinct_id, user_id, timestamp, received_at, properties, context, ip"
)


@dataclass(frozen=True, slots=True)
class EventRow:
    event: CleanEvent
    user_id: int | None
    ip: str | None


def message_key(scope: int, message_id: str) -> uuid.UUID:
    """Return the de-duplication key of a message id sent by one sender (scope)."""
    digest = hashlib.blake2b(f"{scope}:{message_id}".encode(), digest_size=16).digest()
    return uuid.UUID(bytes=digest)


def _json(value: dict) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _new_keys_postgresql(cursor, keys: list[uuid.UUID], received_at: dt.datetime) -> set:
    # In sorted order: two batches sharing ids then wait for each other in one direction
    # only, where in arrival order each could hold a key the other waits for (a deadlock).
    cursor.execute(
        f"INSERT INTO {EventMessageKey._meta.db_table} (key, received_at) "
        "SELECT key, %s FROM unnest(%s::uuid[]) AS key ORDER BY key "
        "ON CONFLICT DO NOTHING RETURNING key",
        [received_at, sorted(keys)],
    )
    return {row[0] for row in cursor.fetchall()}


def _write_postgresql(rows: list[EventRow], keys: list, received_at: dt.datetime) -> int:
    with connection.cursor() as cursor:
        new = _new_keys_postgresql(cursor, keys, received_at)
        if not new:
            return 0
        copy_sql = f"COPY {Event._meta.db_table} ({_COLUMNS}) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            for row, key in zip(rows, keys, strict=True):
                e = row.event
                if key in new:
                    copy.write_row(
                        (e.message_id, e.event, e.distinct_id, row.user_id, e.timestamp,
                         received_at, _json(e.properties), _json(e.context), row.ip)
                    )  # fmt: skip
    return len(new)


def _write_one_postgresql(row: EventRow, key: uuid.UUID, received_at: dt.datetime) -> int:
    """One event in one statement: the key insert and the event insert that depends on it."""
    e = row.event
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH new AS (INSERT INTO {EventMessageKey._meta.db_table} (key, received_at) "
            "VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING key) "
            f"INSERT INTO {Event._meta.db_table} ({_COLUMNS}) "
            "SELECT %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::inet FROM new",
            [key, received_at, e.message_id, e.event, e.distinct_id, row.user_id, e.timestamp,
             received_at, _json(e.properties), _json(e.context), row.ip],
        )  # fmt: skip
        return cursor.rowcount


def _write_sqlite(rows: list[EventRow], keys: list, received_at: dt.datetime) -> int:
    seen = set()
    for start in range(0, len(keys), 500):
        seen.update(
            EventMessageKey.objects.filter(key__in=keys[start : start + 500]).values_list(
                "key", flat=True
            )
        )
    fresh = [(row, key) for row, key in zip(rows, keys, strict=True) if key not in seen]
    EventMessageKey.objects.bulk_create(
        [EventMessageKey(key=key, received_at=received_at) for _, key in fresh]
    )
    Event.objects.bulk_create(
        [
            Event(
                message_id=row.event.message_id,
                event=row.event.event,
                distinct_id=row.event.distinct_id,
                user_id=row.user_id,
                timestamp=row.event.timestamp,
                received_at=received_at,
                properties=row.event.properties,
                context=row.event.context,
                ip=row.ip,
            )
            for row, _ in fresh
        ],
        batch_size=500,
    )
    return len(fresh)


def events_write(*, rows: list[EventRow], received_at: dt.datetime, scope: int = 0) -> int:
    """Store the events whose message ids this sender (scope) never sent; return how many.

    The rows must have distinct message ids. Durable once the surrounding transaction (or,
    outside one, the call) commits: callers acknowledge only after that.
    """
    if not rows:
        return 0
    keys = [message_key(scope, row.event.message_id) for row in rows]
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return _write_sqlite(rows, keys, received_at)
    if len(rows) == 1:  # a single statement is atomic by itself: no BEGIN, no COPY
        return _write_one_postgresql(rows[0], keys[0], received_at)
    with transaction.atomic():
        return _write_postgresql(rows, keys, received_at)

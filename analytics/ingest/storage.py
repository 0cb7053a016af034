"""Durable, exactly-once writes of events: a message id already seen is never stored again.

PostgreSQL: the keys of the batch's message ids go into EventMessageKey with ON CONFLICT DO
NOTHING RETURNING, which names the new ones even under concurrent requests; only those
events are then COPYed into the partitioned events table, in the same transaction. SQLite
has a single writer, so reading which keys exist and inserting the rest is as exact there.

The same transaction marks the rollup buckets the events fall in (RollupDirty, for the exact
pass) and records the batch (RollupBatch, its id in each event, for the live pass).
"""

import datetime as dt
import functools
import hashlib
import threading
import uuid
from dataclasses import dataclass

import orjson
import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from analytics.ingest.validation import CleanEvent, JSONText
from analytics.models import Event, EventMessageKey, RollupBatch, RollupDirty
from analytics.rollups.buckets import GRANULARITIES, buckets_touched

_COLUMNS = (
    "message_id, event, distinct_id, user_id, timestamp, received_at, properties, context, ip,"
    " batch"
)


@dataclass(frozen=True, slots=True)
class EventRow:
    event: CleanEvent
    user_id: int | None
    ip: str | None


def message_key(scope: int, message_id: str) -> str:
    """Return the de-duplication key of a message id sent by one sender (scope): a UUID's
    32 hex digits (text, not a UUID object: a batch makes a thousand)."""
    return hashlib.blake2b(f"{scope}:{message_id}".encode(), digest_size=16).hexdigest()


def _json_bytes(value: dict | JSONText) -> bytes:
    if isinstance(value, JSONText):
        return value
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _json(value: dict | JSONText) -> str:
    return _json_bytes(value).decode()


def _copy_escaped(value: bytes) -> bytes:
    """Return the value as COPY's text format reads it: backslash, tab, newline and carriage
    return escaped."""
    return (
        value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t")
        .replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    )  # fmt: skip


def _copy_text(rows: list[EventRow], received_at: dt.datetime, batch: int | None) -> bytes:
    """Return the rows as one buffer of COPY's text format, with NULL as the empty string
    (no text column may be empty), in the order of _COLUMNS.

    The values are joined as they are and the buffer checked whole, each test one scan: no
    carriage return, and as many tabs and newlines as the rows' own. Backslashes are then
    doubled in one pass. Only when a value holds a tab or a line break is each value escaped
    alone, which would otherwise cost more than the rest of the write.
    """
    received = received_at.isoformat().encode()
    batch_text = b"" if batch is None else b"%d" % batch
    values = [
        (
            e.message_id.encode(), e.event.encode(), e.distinct_id.encode(),
            b"" if row.user_id is None else b"%d" % row.user_id,
            e.timestamp.isoformat().encode(), received,
            _json_bytes(e.properties), _json_bytes(e.context),
            b"" if row.ip is None else row.ip.encode(), batch_text,
        )
        for row in rows
        for e in (row.event,)
    ]  # fmt: skip
    text = b"\n".join([b"\t".join(line) for line in values]) + b"\n"
    if b"\r" in text or text.count(b"\n") != len(rows) or text.count(b"\t") != 9 * len(rows):
        lines = [b"\t".join([_copy_escaped(value) for value in line]) for line in values]
        return b"\n".join(lines) + b"\n"
    return text.replace(b"\\", b"\\\\") if b"\\" in text else text


def _new_keys_postgresql(cursor, keys: list[str], received_at: dt.datetime) -> set[str]:
    """Insert the keys; return those that were new.

    A plain INSERT first, under a savepoint: nearly every batch is new, and ON CONFLICT's
    speculative insertion costs the database a third more. A key seen before (a retried
    batch, or a concurrent request with the same ids, which the INSERT waits out) fails it,
    and ON CONFLICT then names the new ones.
    """
    table = EventMessageKey._meta.db_table
    # In sorted order: two batches sharing ids then wait for each other in one direction
    # only, where in arrival order each could hold a key the other waits for (a deadlock).
    # Hex digits sort as the UUIDs' bytes do. The array goes as one literal: psycopg
    # adapting a list looks at each element by itself.
    params = [received_at, "{" + ",".join(sorted(keys)) + "}"]
    select = "SELECT key, %s FROM unnest(%s::uuid[]) AS key ORDER BY key"
    cursor.execute("SAVEPOINT message_keys")
    try:
        cursor.execute(f"INSERT INTO {table} (key, received_at) {select}", params)
    except IntegrityError:
        cursor.execute("ROLLBACK TO SAVEPOINT message_keys")
    else:
        return set(keys)
    cursor.execute(
        f"INSERT INTO {table} (key, received_at) {select} "
        "ON CONFLICT DO NOTHING RETURNING encode(uuid_send(key), 'hex')",
        params,
    )
    return {row[0] for row in cursor.fetchall()}


def _write_postgresql(rows: list[EventRow], keys: list, received_at: dt.datetime) -> int:
    with connection.cursor() as cursor:
        new = _new_keys_postgresql(cursor, keys, received_at)
        if not new:
            return 0
        if len(new) < len(rows):
            rows = [row for row, key in zip(rows, keys, strict=True) if key in new]
        touched = _touched([row.event for row in rows], received_at)
        batch = None
        if touched:
            cursor.execute(
                f"INSERT INTO {RollupBatch._meta.db_table} (received_at) VALUES (%s) RETURNING id",
                [received_at],
            )
            batch = cursor.fetchone()[0]
        copy_sql = f"COPY {Event._meta.db_table} ({_COLUMNS}) FROM STDIN (NULL '')"
        # Django's cursor passes copy() through unwrapped: its errors become Django's here.
        with connection.wrap_database_errors, cursor.copy(copy_sql) as copy:
            copy.write(_copy_text(rows, received_at, batch))
        _mark_dirty_postgresql(cursor, touched, received_at)
    return len(new)


def _not_before(received_at: dt.datetime) -> dt.datetime:
    """Events older than this at arrival no longer change rollups (see rollups_rebuild)."""
    return received_at - dt.timedelta(hours=settings.ANALYTICS_ROLLUP_LATENESS_HOURS)


def _touched(events, received_at: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """The rollup buckets the events fall in that are still recomputed, in order."""
    return sorted(
        buckets_touched((e.timestamp for e in events), not_before=_not_before(received_at))
    )


def _mark_dirty_postgresql(cursor, touched, received_at: dt.datetime) -> None:
    """Mark the touched buckets in one statement of two arrays: a batch spread over days
    marks hundreds of buckets, too many to build a model instance for each."""
    if touched:
        cursor.execute(
            f"INSERT INTO {RollupDirty._meta.db_table} (granularity, bucket, marked_at) "
            "SELECT g, b, %s FROM unnest(%s::text[], %s::timestamptz[]) AS t(g, b)",
            [received_at, [g for g, _ in touched], [b for _, b in touched]],
        )


_binding = threading.local()


def _binding_cursor():
    """Django's cursor over a psycopg cursor that sends parameters apart from the query:
    Django's own quotes each one into the text, in Python, which costs a single event more
    than the rest of its validation. Logged, wrapped and checked as any Django cursor; the
    psycopg cursor is kept for the thread's connection, so leave it open."""
    connection.ensure_connection()
    cursor = getattr(_binding, "cursor", None)
    if cursor is None or cursor.closed or cursor.connection is not connection.connection:
        cursor = _binding.cursor = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


@functools.cache
def _one_sql(marks: bool) -> str:
    """The statement of one event: its key, then the event if the key was new, then (with
    `marks`) its batch for the live pass and its minute, hour and day marked for the exact
    one, truncated as bucket_start does: in UTC."""
    head = (
        f"WITH new AS (INSERT INTO {EventMessageKey._meta.db_table} (key, received_at) "
        "VALUES (%s::uuid, %s) ON CONFLICT DO NOTHING RETURNING key)"
    )
    values = "%s, %s, %s, %s::bigint, %s, %s, %s::jsonb, %s::jsonb, %s::inet"
    insert = f"INSERT INTO {Event._meta.db_table} ({_COLUMNS}) SELECT {values}"
    if not marks:
        return f"{head} {insert}, NULL FROM new"
    granularities = ", ".join(f"'{g}'" for g in GRANULARITIES)
    return (
        f"{head}, batch AS (INSERT INTO {RollupBatch._meta.db_table} (received_at) "
        "SELECT %s FROM new RETURNING id), "
        f"event AS ({insert}, batch.id FROM batch RETURNING timestamp) "
        f"INSERT INTO {RollupDirty._meta.db_table} (granularity, bucket, marked_at) "
        "SELECT g, date_trunc(g, event.timestamp, 'UTC'), %s "
        f"FROM event, unnest(ARRAY[{granularities}]) AS g"
    )


def _write_one_postgresql(row: EventRow, key: str, received_at: dt.datetime) -> int:
    """One event in one statement: the key, the event and its rollup marks, all or nothing."""
    e = row.event
    marks = e.timestamp >= _not_before(received_at)
    params = [key, received_at]
    if marks:
        params.append(received_at)
    params += [e.message_id, e.event, e.distinct_id, row.user_id, e.timestamp, received_at,
               _json(e.properties), _json(e.context), row.ip]  # fmt: skip
    if marks:
        params.append(received_at)
    cursor = _binding_cursor()
    cursor.execute(_one_sql(marks), params)
    # With marks the count is of marks, three for a stored event; without, of events.
    return 1 if cursor.rowcount else 0


def _python(value: dict | JSONText) -> dict:
    # bytes(): orjson takes no subclass of bytes.
    return orjson.loads(bytes(value)) if isinstance(value, JSONText) else value


def _write_sqlite(rows: list[EventRow], hex_keys: list[str], received_at: dt.datetime) -> int:
    keys = [uuid.UUID(key) for key in hex_keys]
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
    touched = _touched([row.event for row, _ in fresh], received_at)
    batch = RollupBatch.objects.create(received_at=received_at).id if touched else None
    Event.objects.bulk_create(
        [
            Event(
                message_id=row.event.message_id,
                event=row.event.event,
                distinct_id=row.event.distinct_id,
                user_id=row.user_id,
                timestamp=row.event.timestamp,
                received_at=received_at,
                properties=_python(row.event.properties),
                context=_python(row.event.context),
                ip=row.ip,
                batch=batch,
            )
            for row, _ in fresh
        ],
        batch_size=500,
    )
    RollupDirty.objects.bulk_create(
        [RollupDirty(granularity=g, bucket=b, marked_at=received_at) for g, b in touched]
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

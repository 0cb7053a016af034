"""Durable, exactly-once writes of events: a message id already seen is never stored again.

PostgreSQL: the batch's message ids go into EventMessageId with ON CONFLICT DO NOTHING
RETURNING, which names the new ones even under concurrent requests; only those events are
then COPYed into the partitioned events table, in the same transaction. SQLite has a single
writer, so reading which ids exist and inserting the rest is just as exact there.
"""

import datetime as dt
from dataclasses import dataclass

import orjson
from django.db import connection, transaction

from .models import Event, EventMessageId
from .validation import CleanEvent

_COLUMNS = (
    "message_id, event, distinct_id, user_id, timestamp, received_at, properties, context, ip"
)


@dataclass(frozen=True, slots=True)
class EventRow:
    event: CleanEvent
    user_id: int | None
    ip: str | None


def _json(value: dict) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _new_ids_postgresql(cursor, ids: list[str], received_at: dt.datetime) -> set[str]:
    cursor.execute(
        f"INSERT INTO {EventMessageId._meta.db_table} (message_id, received_at) "
        "SELECT unnest(%s::varchar[]), %s ON CONFLICT DO NOTHING RETURNING message_id",
        [ids, received_at],
    )
    return {row[0] for row in cursor.fetchall()}


def _write_postgresql(rows: list[EventRow], received_at: dt.datetime) -> int:
    with connection.cursor() as cursor:
        new = _new_ids_postgresql(cursor, [row.event.message_id for row in rows], received_at)
        if not new:
            return 0
        copy_sql = f"COPY {Event._meta.db_table} ({_COLUMNS}) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                e = row.event
                if e.message_id in new:
                    copy.write_row(
                        (e.message_id, e.event, e.distinct_id, row.user_id, e.timestamp,
                         received_at, _json(e.properties), _json(e.context), row.ip)
                    )  # fmt: skip
    return len(new)


def _write_sqlite(rows: list[EventRow], received_at: dt.datetime) -> int:
    ids = [row.event.message_id for row in rows]
    seen = set()
    for start in range(0, len(ids), 500):
        seen.update(
            EventMessageId.objects.filter(message_id__in=ids[start : start + 500]).values_list(
                "message_id", flat=True
            )
        )
    fresh = [row for row in rows if row.event.message_id not in seen]
    EventMessageId.objects.bulk_create(
        [EventMessageId(message_id=row.event.message_id, received_at=received_at) for row in fresh]
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
            for row in fresh
        ],
        batch_size=500,
    )
    return len(fresh)


@transaction.atomic
def events_write(*, rows: list[EventRow], received_at: dt.datetime) -> int:
    """Store the events whose message ids were never seen; return how many were stored.

    The rows must have distinct message ids. Durable once the surrounding transaction
    commits: callers acknowledge only after that.
    """
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _write_postgresql(rows, received_at)
    return _write_sqlite(rows, received_at)

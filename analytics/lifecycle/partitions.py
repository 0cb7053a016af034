"""Monthly partitions of the events table on PostgreSQL: made ahead, dropped when expired.

Partitions are named analytics_event_pYYYYMM. Rows that arrived before their month's
partition existed (a batch import of old events) sit in the default partition; making the
partition moves them into it in the same transaction.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction

from analytics.models import Event

TABLE = Event._meta.db_table


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _name(month: dt.date) -> str:
    return f"{TABLE}_p{month.year:04d}{month.month:02d}"


@dataclass(frozen=True)
class PartitionReport:
    created: list[str]
    dropped: list[str]
    default_rows_deleted: int = 0


def _existing() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class parent ON pg_inherits.inhparent = parent.oid "
            "JOIN pg_class child ON pg_inherits.inhrelid = child.oid WHERE parent.relname = %s",
            [TABLE],
        )
        return {row[0] for row in cursor.fetchall()}


def _months_in_default() -> list[dt.date]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', timestamp AT TIME ZONE 'UTC')::date "
            f"FROM {TABLE}_default"
        )
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def _create(month: dt.date) -> str:
    name, start, end = _name(month), month.isoformat(), _next_month(month).isoformat()
    bounds = f"FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
    with connection.cursor() as cursor:
        # Made detached and filled from the default partition first, then attached: attaching
        # a range the default partition still holds rows of would fail.
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {TABLE}_default WHERE timestamp >= %s AND timestamp < %s "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
            [f"{start} 00:00:00+00", f"{end} 00:00:00+00"],
        )
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES {bounds}")
    return name


def event_partitions_ensure(*, today: dt.date, months_ahead: int) -> list[str]:
    """Make the partitions of last month to `months_ahead` ahead, and of any month with rows
    waiting in the default partition. Return the names made. A no-op off PostgreSQL."""
    if connection.vendor != "postgresql":
        return []
    months = {_month_start(today).replace(day=1)}
    month = _month_start(today)
    months.add(_month_start(month - dt.timedelta(days=1)))
    for _ in range(months_ahead):
        month = _next_month(month)
        months.add(month)
    months.update(_months_in_default())
    existing = _existing()
    return [_create(m) for m in sorted(months) if _name(m) not in existing]


def event_partitions_expired(*, cutoff: dt.datetime) -> list[str]:
    """Return the partitions whose whole month lies before the cutoff."""
    if connection.vendor != "postgresql":
        return []
    expired = []
    for name in sorted(_existing()):
        if not name.startswith(f"{TABLE}_p"):
            continue
        month = dt.date(int(name[-6:-2]), int(name[-2:]), 1)
        if dt.datetime.combine(_next_month(month), dt.time(), dt.UTC) <= cutoff:
            expired.append(name)
    return expired


@transaction.atomic
def event_partitions_drop(*, names: list[str]) -> None:
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")

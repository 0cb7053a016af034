"""The timeline: every event as (person number, microsecond, name), kept by the minute
rollups, so sequence funnels sort a narrow table instead of raw events.

A person's number is the first 8 bytes of the MD5 of their key, as a signed integer: the
same in Python, in PostgreSQL and (through a function registered on each connection) in
SQLite. Two keys share a number with a chance of about n² / 2⁶⁵: for a million persons,
one in 37 million.
"""

import datetime as dt
import hashlib

from django.db import connection
from django.db.models import BigIntegerField, Func

from .models import TimelineEvent

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def person_number(key: str) -> int:
    """Return the 64-bit number a person key is counted under in the timeline."""
    return int.from_bytes(hashlib.md5(key.encode()).digest()[:8], "big", signed=True)


def micros(moment: dt.datetime) -> int:
    """Return an aware datetime as microseconds since the epoch."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _sqlite_micros(value: str | None) -> int | None:
    if value is None:
        return None
    return micros(dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC))


def sqlite_functions_register(sender, connection, **kwargs) -> None:
    """On a new SQLite connection, add the functions PersonNumber and Micros call."""
    if connection.vendor == "sqlite":
        raw = connection.connection
        raw.create_function("analytics_person_number", 1, person_number, deterministic=True)
        raw.create_function("analytics_micros", 1, _sqlite_micros, deterministic=True)


class PersonNumber(Func):
    """The database's person_number() of a person key."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "('x' || left(md5(%(expressions)s), 16))::bit(64)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="analytics_person_number", **extra)


class Micros(Func):
    """The database's micros() of a datetime column."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "(extract(epoch FROM %(expressions)s) * 1000000)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="analytics_micros", **extra)


def timeline_person_move(*, old_key: str, new_key: str) -> None:
    """Count the old person's timeline as the new one's: a browser turned out to be an
    account. Rows the new person already has at the same moment stay single."""
    table = TimelineEvent._meta.db_table
    old, new = person_number(old_key), person_number(new_key)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (person, at, event) SELECT %s, at, event FROM {table} "
            "WHERE person = %s ON CONFLICT DO NOTHING",
            [new, old],
        )
        cursor.execute(f"DELETE FROM {table} WHERE person = %s", [old])

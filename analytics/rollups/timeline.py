"""The timeline: every event as (person number, microsecond), packed per name and minute
by the minute rollups, so a sequence funnel reads a day of events as a few thousand rows.

A person's number is the first 8 bytes of the MD5 of their key, as a signed integer: the
same in Python, in PostgreSQL and (through functions registered on each connection) in
SQLite. Two keys share a number with a chance of about n² / 2⁶⁵: for a million persons,
one in 37 million.

A browser that becomes an account after its minutes were packed stays under its anonymous
number there; readers re-label it (selectors.timeline_aliases), as a rebuild would.
"""

import datetime as dt
import hashlib

import numpy as np
from django.db.models import Aggregate, BigIntegerField, BinaryField, Func
from django.db.models.functions import Trunc

from analytics.models import Event, TimelineMinute
from analytics.rollups.people import events_with_person, insert_select

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
# A packed moment: the person's number and the time, big-endian, as PostgreSQL's int8send.
MOMENT = np.dtype([("person", ">i8"), ("at", ">i8")])


def person_number(key: str) -> int:
    """Return the 64-bit number a person key is counted under in the timeline."""
    return int.from_bytes(hashlib.md5(key.encode()).digest()[:8], "big", signed=True)


def micros(moment: dt.datetime) -> int:
    """Return an aware datetime as microseconds since the epoch."""
    return (moment - EPOCH) // MICROSECOND


def moments_unpack(packed: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Return the person numbers and times of packed moments, as int64 arrays."""
    moments = np.frombuffer(packed, dtype=MOMENT)
    return moments["person"].astype(np.int64), moments["at"].astype(np.int64)


def _sqlite_micros(value: str | None) -> int | None:
    if value is None:
        return None
    return micros(dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC))


class _SqlitePack:
    """SQLite's aggregate for PackedMoments."""

    def __init__(self):
        self.parts = []

    def step(self, person, at):
        self.parts.append(
            person.to_bytes(8, "big", signed=True) + at.to_bytes(8, "big", signed=True)
        )

    def finalize(self):
        return b"".join(self.parts)


def sqlite_functions_register(sender, connection, **kwargs) -> None:
    """On a new SQLite connection, add the functions the timeline's expressions call."""
    if connection.vendor == "sqlite":
        raw = connection.connection
        raw.create_function("analytics_person_number", 1, person_number, deterministic=True)
        raw.create_function("analytics_micros", 1, _sqlite_micros, deterministic=True)
        raw.create_aggregate("analytics_pack_moments", 2, _SqlitePack)


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


class PackedMoments(Aggregate):
    """The group's (person number, microsecond) pairs packed as MOMENT records."""

    output_field = BinaryField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "string_agg(int8send(%(expressions)s), ''::bytea)"
        return self.as_sql(
            compiler, connection, template=template, arg_joiner=") || int8send(", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="analytics_pack_moments", **extra)


def timeline_replace(start: dt.datetime, end: dt.datetime) -> None:
    """Replace the timeline rows of [start, end) with those of the stored events."""
    TimelineMinute.objects.filter(minute__gte=start, minute__lt=end).delete()
    rows = (
        events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lt=end))
        .annotate(minute=Trunc("timestamp", "minute", tzinfo=dt.UTC))
        .values("event", "minute")
        .annotate(moments=PackedMoments(PersonNumber("person"), Micros("timestamp")))
    )
    insert_select(TimelineMinute._meta.db_table, "event, minute, moments",
                   "q.event, q.minute, q.moments", rows)  # fmt: skip

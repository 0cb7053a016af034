"""Rollup cells, (granularity, bucket, event, dimension, value) with a count and distinct
persons: grouping events into cells, and adding to cells, as both passes do."""

import datetime as dt

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    F,
    Q,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Left, Trunc

from analytics.models import (
    Event,
    EventRollup,
    RollupBatch,
)
from analytics.rollups.people import events_with_person

DIMENSIONS = ("artist_id", "show_id", "song_id")


CELL = ("bucket", "event", "dimension", "value")


def cells_grouped(events, granularity: str, dimension: str, **measures):
    """The events' cells of one granularity and dimension, as rows of (bucket, event,
    dimension, value, *measures)."""
    rows = events.annotate(
        bucket=Trunc("timestamp", granularity, tzinfo=dt.UTC), dimension=Value(dimension)
    )
    if dimension:
        # Cut to the column's size before grouping: two long values that agree on their
        # first 64 characters are one cell, not two rows fighting over one key.
        rows = rows.annotate(value=Left(KT(f"properties__{dimension}"), 64)).filter(
            value__isnull=False
        )
    else:
        rows = rows.annotate(value=Value(""))
    return rows.values(*CELL).annotate(**measures).values_list(*CELL, *measures)


def cells_add(granularity: str, parts: list[tuple[str, list]]) -> None:
    """Add the rows of the parts' SQL, (bucket, event, dimension, value, n, p), summed per
    cell, to the count (n) and persons (p) of the cells of `granularity`: in one statement,
    so all it reads is one snapshot, and in the order of the cells, which both passes keep,
    so the two never wait on each other in a circle."""
    table = connection.ops.quote_name(EventRollup._meta.db_table)
    columns = ", ".join((*CELL, "n", "p"))
    union = " UNION ALL ".join(
        f"SELECT {columns} FROM ({sql}) p{i}" for i, (sql, _) in enumerate(parts)
    )
    cell = ", ".join(f"u.{c}" for c in CELL)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (granularity, bucket, event, dimension, value, count, persons) "
            f"SELECT %s, {cell}, SUM(u.n), SUM(u.p) FROM ({union}) u WHERE true "
            f"GROUP BY {cell} HAVING SUM(u.n) <> 0 OR SUM(u.p) <> 0 ORDER BY {cell} "
            "ON CONFLICT (granularity, bucket, event, dimension, value) DO UPDATE SET "
            f"count = {table}.count + EXCLUDED.count, persons = {table}.persons + EXCLUDED.persons",
            [granularity, *(p for _, params in parts for p in params)],
        )


def cells_increment(counts: dict[tuple, int]) -> None:
    """Add to the count of each cell, (granularity, bucket, event, dimension, value), in
    the order of the cells (on PostgreSQL, where two passes write at once), as cells_add keeps;
    persons are left to the exact pass (a sum of batches would count a person once for
    each batch)."""
    table = connection.ops.quote_name(EventRollup._meta.db_table)
    upsert = (
        f"INSERT INTO {table} (granularity, bucket, event, dimension, value, count, persons) "
        "{select} ON CONFLICT (granularity, bucket, event, dimension, value) "
        f"DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, the rows as one JSON text: psycopg adapting lists would look at
            # each of a hundred thousand values alone, which costs more than the upsert.
            rows = [
                {"g": g, "b": b.isoformat(), "e": e, "d": d, "v": v, "n": n}
                for (g, b, e, d, v), n in counts.items()
            ]
            cursor.execute(
                upsert.format(
                    select="SELECT g, b, e, d, v, n, 0 FROM json_to_recordset(%s::json) AS u "
                    "(g text, b timestamptz, e text, d text, v text, n bigint) "
                    "ORDER BY g, b, e, d, v"
                ),
                [orjson.dumps(rows).decode()],
            )
        else:
            # Buckets as Django stores them, or a cell would not meet its own row.
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                upsert.format(select="VALUES (%s, %s, %s, %s, %s, %s, 0)"),
                [(g, adapt(b), e, d, v, n) for (g, b, e, d, v), n in counts.items()],
            )


def lateness() -> dt.timedelta:
    return dt.timedelta(hours=settings.ANALYTICS_ROLLUP_LATENESS_HOURS)


def counted_live() -> Q:
    """Which of a batch's events the live pass counts: those not older than the lateness
    on arrival, as ingestion marks only their buckets (analytics.ingest.storage)."""
    return Q(timestamp__gte=F("received_at") - lateness())


def in_ranges(field: str, ranges: list[tuple[dt.datetime, dt.datetime]]) -> Q:
    """`field` in any of the [start, end) ranges."""
    within = Q()
    for start, end in ranges:
        within |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return within


def cells_exact(granularity: str, ranges: list[tuple[dt.datetime, dt.datetime]]) -> None:
    """Bring the cells of the [start, end) ranges to what the raw events give: per cell, add
    the recomputed count less the live pass's still to come, and the recomputed persons,
    less what the cell holds now.

    One statement for all the ranges, run last in its transaction: the cells it writes stay
    locked until the commit, and the live pass waits for them; the recomputation itself
    takes no lock, however long it runs."""
    events = events_with_person(Event.objects.filter(in_ranges("timestamp", ranges)))
    waiting = Q(batch__in=RollupBatch.objects.values("id")) & counted_live()
    parts = [
        cells_grouped(
            events, granularity, dimension,
            n=Count("id") - Count("id", filter=waiting), p=Count("person", distinct=True),
        ).query.sql_with_params()
        for dimension in ("", *DIMENSIONS)
    ]  # fmt: skip
    held = EventRollup.objects.filter(in_ranges("bucket", ranges), granularity=granularity)
    parts.append(
        held.annotate(n=-F("count"), p=-F("persons")).values_list(*CELL, "n", "p")
        .query.sql_with_params()
    )  # fmt: skip
    cells_add(granularity, parts)
    held.filter(count=0, persons=0).delete()

"""Sessions and page moves by UTC day, kept by the exact pass by day so engagement over weeks
reads a row a day: each day's sessions (cut at midnight) with every session's length, and
the moves between pages within them. Both are computed from the day's raw events, as the
daily user stats are, by the definitions `session_summary` and `paths` answer with."""

import datetime as dt
import zlib

import numpy as np
from django.db import connection
from django.db.models import TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from analytics.maths.sessions import (
    PAGEVIEW,
    PASSIVE_EVENTS,
    SESSION_GAP,
    sessions_split,
)
from analytics.models import Event, PageMoveDay, SessionDay
from analytics.rollups.people import events_with_person
from analytics.rollups.timeline import (
    MICROSECOND,
    Micros,
    PackedMoments,
    PersonNumber,
    moments_unpack,
)


def lengths_pack(lengths: np.ndarray) -> bytes:
    """Sorted lengths as zlib-compressed little-endian differences (most are small)."""
    ordered = np.sort(lengths.astype(np.int64))
    return zlib.compress(np.diff(ordered, prepend=0).astype("<i8").tobytes(), 1)


def lengths_unpack(packed: bytes) -> np.ndarray:
    return np.cumsum(np.frombuffer(zlib.decompress(bytes(packed)), dtype="<i8"))


def session_day_replace(start: dt.datetime, end: dt.datetime) -> None:
    """Replace the SessionDay rows of the days from start to end (whole UTC days)."""
    day = start
    while day < end:
        following = day + dt.timedelta(days=1)
        SessionDay.objects.filter(day=day.date()).delete()
        found = _sessions(day, following)
        if len(found.lengths):
            SessionDay.objects.create(
                day=day.date(), sessions=len(found.lengths),
                seconds=float((found.lengths / 1_000_000).sum()),
                pageviews=int(found.pages.sum()), bounces=int(found.bounced.sum()),
                lengths=lengths_pack(found.lengths),
            )  # fmt: skip
        day = following


def _sessions(start: dt.datetime, end: dt.datetime):
    packed = (
        events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lt=end))
        .values("event")
        .annotate(moments=PackedMoments(PersonNumber("person"), Micros("timestamp")))
        .values_list("event", "moments")
    )
    person, at, pageview, active = [], [], [], []
    for name, moments in packed:
        who, when = moments_unpack(bytes(moments))
        person.append(who)
        at.append(when)
        pageview.append(np.full(len(when), name == PAGEVIEW))
        active.append(np.full(len(when), name not in PASSIVE_EVENTS))

    def joined(parts, dtype):
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    return sessions_split(
        joined(person, np.int64), joined(at, np.int64), joined(pageview, bool),
        joined(active, bool), gap=SESSION_GAP // MICROSECOND,
    )  # fmt: skip


# Consecutive page views within sessions. Sessions are cut over all of a person's events,
# then each page view is paired with the one before it in its session (ties in time go by
# event id, the order they were stored in).
PAGE_MOVES = """
SELECT a, b, COUNT(*) AS n FROM (
  SELECT LAG(page) OVER (PARTITION BY person, session ORDER BY at, id) AS a, page AS b
  FROM (
    SELECT person, at, id, event, page,
           SUM(starts) OVER (PARTITION BY person ORDER BY at, id ROWS UNBOUNDED PRECEDING)
             AS session
    FROM (
      SELECT person, at, id, event, page,
             CASE WHEN at - LAG(at) OVER (PARTITION BY person ORDER BY at, id) <= %s
                  THEN 0 ELSE 1 END AS starts
      FROM ({events}) e
    ) g
  ) s WHERE event = %s
) m WHERE a <> b {side} GROUP BY a, b
"""


def page_moves_sql(events, *, page: str | None = None, direction: str = "next"):
    """The SQL and parameters counting the moves (a, b, n) between pages among the events
    of a queryset: from `page` (or, with direction "previous", into it), or all."""
    rows = events_with_person(events).annotate(
        at=Micros("timestamp"),
        page=Coalesce(KT("properties__path"), Value(""), output_field=TextField()),
    )
    sql, params = rows.values("person", "at", "id", "event", "page").query.sql_with_params()
    side, side_params = "", ()
    if page is not None:
        side, side_params = ("AND a = %s" if direction == "next" else "AND b = %s"), (page,)
    return PAGE_MOVES.format(events=sql, side=side), (
        SESSION_GAP // MICROSECOND,
        *params,
        PAGEVIEW,
        *side_params,
    )


def page_move_day_replace(start: dt.datetime, end: dt.datetime) -> None:
    """Replace the PageMoveDay rows of the days from start to end (whole UTC days)."""
    day = start
    while day < end:
        following = day + dt.timedelta(days=1)
        PageMoveDay.objects.filter(day=day.date()).delete()
        sql, params = page_moves_sql(
            Event.objects.filter(timestamp__gte=day, timestamp__lt=following)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {PageMoveDay._meta.db_table} (day, source, target, moves) "
                f"SELECT %s, a, b, n FROM ({sql}) m",
                (day.date(), *params),
            )
        day = following

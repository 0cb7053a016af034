"""How visits go: sessions (from the timeline), paths between pages and Core Web Vitals (from
raw events, computed in the database so only the answer leaves it)."""

import datetime as dt
from collections import OrderedDict

import numpy as np
from django.db import connection
from django.db.models import Count, F, FloatField, Func, Max, Sum, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from analytics.maths.sessions import (
    PAGEVIEW,
    PASSIVE_EVENTS,
    SESSION_GAP,
    SessionSummary,
    sessions_summarize,
    summary_of,
)
from analytics.models import Event, PageMoveDay, SessionDay
from analytics.rollups.sessions import lengths_unpack, page_moves_sql
from analytics.rollups.timeline import MICROSECOND
from analytics.selectors import timeline_events
from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.stats import percentile_between, percentile_ranks

# A quarter in one request: sessions unpack every event of the range from the timeline,
# paths and web vitals have the database read the range's raw events.
ENGAGEMENT_MAX_DAYS = 93


def _range(start: dt.datetime, end: dt.datetime) -> None:
    if end < start or end - start > dt.timedelta(days=ENGAGEMENT_MAX_DAYS):
        raise ApplicationError(
            f"Use a range of at most {ENGAGEMENT_MAX_DAYS} days.",
            {"fields": {"date_to": ["Out of range."]}},
        )


def session_summary(*, start: dt.datetime, end: dt.datetime) -> SessionSummary:
    """A session is a person's run of events (any event: page views, clicks, votes, the
    tracker's own) with no gap over 30 minutes; only events from start to end count, so a
    session crossing either is cut there. Answers: how many sessions; their mean and median
    length, first event to last, in seconds (a session of one event lasts 0), rounded to the
    millisecond; page views per session (every page view, a reload too); and the bounce
    rate, the share of sessions whose only event, besides what the tracker sends by itself
    ($web_vitals, $pageleave), is one page view, so a session of a single page view is a
    bounce and one with a reload, a click or a vote is not. Shares are from 0 to 1 and, like
    pages per session, rounded to 4 places. Read from the timeline the minute rollups keep
    (seconds behind ingestion), over at most 93 days."""
    _range(start, end)
    events = timeline_events(start=start, end=end)
    pageview = np.array([name == PAGEVIEW for name in events.names], dtype=bool)
    active = np.array([name not in PASSIVE_EVENTS for name in events.names], dtype=bool)
    return sessions_summarize(
        events.person, events.at, pageview[events.code], active[events.code],
        gap=SESSION_GAP // MICROSECOND,
    )  # fmt: skip


_SUMMARIES: OrderedDict = OrderedDict()  # the last few answers, by their days' rows


def sessions_by_day(*, first_day: dt.date, last_day: dt.date) -> SessionSummary:
    """The summary of session_summary's sessions on the UTC days from first_day to last_day,
    each day's cut at midnight (a session past it goes on as a new one), as the day rollups
    last counted them: a row a day, so fast over any range (a day not counted has none).
    The last few answers are kept in the process while the days' rows stay the same (a
    dashboard's session cards ask for the same days one after another)."""
    days = SessionDay.objects.filter(day__gte=first_day, day__lte=last_day)
    rows = days.aggregate(n=Count("id"), top=Max("id"), sessions=Sum("sessions"),
                          seconds=Sum("seconds"))  # fmt: skip
    key = (first_day, last_day, *rows.values())
    if key in _SUMMARIES:
        _SUMMARIES.move_to_end(key)
        return _SUMMARIES[key]
    found = list(days.values_list("sessions", "seconds", "pageviews", "bounces", "lengths"))
    lengths = [lengths_unpack(row[4]) for row in found]
    seconds = np.concatenate(lengths) / 1_000_000 if lengths else np.empty(0)
    summary = summary_of(
        sessions=sum(row[0] for row in found), total=sum(row[1] for row in found),
        pageviews=sum(row[2] for row in found), bounces=sum(row[3] for row in found),
        median=float(np.median(seconds)) if len(seconds) else 0.0,
    )  # fmt: skip
    _SUMMARIES[key] = summary
    while len(_SUMMARIES) > 8:
        _SUMMARIES.popitem(last=False)
    return summary


def paths_by_day(*, first_day: dt.date, last_day: dt.date, limit: int = 10) -> list[tuple]:
    """The most frequent moves between pages on the UTC days from first_day to last_day, as
    `paths` counts them (sessions cut at midnight), from the day rollups."""
    rows = (
        PageMoveDay.objects.filter(day__gte=first_day, day__lte=last_day)
        .values("source", "target")
        .annotate(n=Sum("moves"))
        .order_by("-n", "source", "target")
        .values_list("source", "target", "n")[:limit]
    )
    return [(a, b, int(n)) for a, b, n in rows]


def _sql(queryset) -> tuple[str, tuple]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def paths(
    *, start: dt.datetime, end: dt.datetime, page: str | None = None, direction: str = "next",
    limit: int = 10,
) -> list[tuple[str, str, int]]:  # fmt: skip
    """The most frequent moves from one page to another: consecutive page views within a
    session (as sessions define it), from `page` to the next page (or, with direction
    "previous", into it), or among all pages; a page's path is its page view's `path`
    property ("" where none). A page view of the same page as the one before (a reload) is
    no move: a, a, b counts one move from a to b. Ties go by the pages, in the database's
    order. Events from start to end, at most 93 days, read from raw events."""
    _range(start, end)
    events = Event.objects.filter(timestamp__gte=start, timestamp__lte=end)
    sql, params = page_moves_sql(events, page=page, direction=direction)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY n DESC, a, b LIMIT %s", (*params, limit))
        return [(a, b, n) for a, b, n in cursor.fetchall()]


VITALS = ("lcp", "inp", "cls", "ttfb")


class JSONNumber(Func):
    """The number at a key of a JSON column; NULL where it holds anything else (a string,
    a boolean) or nothing."""

    output_field = FloatField()

    def __init__(self, column: str, key: str):
        super().__init__(F(column))
        self.key = key

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' "
            f"THEN ({column} ->> %s)::double precision END"
        )
        return sql, (*params, self.key, *params, self.key)

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        sql = (
            f"CASE WHEN json_type({column}, %s) IN ('integer', 'real') "
            f"THEN json_extract({column}, %s) END"
        )
        return sql, (*params, path, *params, path)


# Per vital and page, the two values around the 75th percentile's rank, 0.75 (n - 1) counted
# from 0 (as percentile_ranks finds it): the database sends those alone, and Python goes
# between them as mysetlist.core.stats.percentile does.
VITALS_P75 = """
WITH v AS ({samples})
SELECT vital, page, n, k, value FROM (
  SELECT vital, page, value,
         ROW_NUMBER() OVER (PARTITION BY vital, page ORDER BY value) - 1 AS k,
         COUNT(*) OVER (PARTITION BY vital, page) AS n
  FROM ({union}) u WHERE value IS NOT NULL
) r WHERE k IN ((3 * n - 3) / 4, (3 * n - 3) / 4 + 1)
"""


def web_vitals(*, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """Per page path (the `path` property, "" where none), the 75th percentile (linear
    between ranks, as every percentile of the platform: mysetlist.core.stats.percentile) of
    each vital the tracker measured there: LCP, INP and TTFB in
    milliseconds, CLS unitless, null where none was; and how many samples (of the vital
    measured most). Only numbers count: a vital sent as anything else is no sample. From
    the $web_vitals events from start to end, at most 93 days, computed by the database
    from raw events."""
    _range(start, end)
    samples = Event.objects.filter(
        event="$web_vitals", timestamp__gte=start, timestamp__lte=end
    ).annotate(
        page=Coalesce(KT("properties__path"), Value(""), output_field=TextField()),
        **{vital: JSONNumber("properties", vital) for vital in VITALS},
    )
    sql, params = _sql(samples.values("page", *VITALS))
    union = " UNION ALL ".join(f"SELECT '{vital}' AS vital, page, {vital} AS value FROM v"
                               for vital in VITALS)  # fmt: skip
    pages: dict[str, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(VITALS_P75.format(samples=sql, union=union), params)
        rows = cursor.fetchall()
    around: dict[tuple[str, str], dict[int, float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for vital, page, n, k, value in rows:
        around.setdefault((vital, page), {})[k] = float(value)
        counts[(vital, page)] = n
    for (vital, page), values in sorted(around.items()):
        row = pages.setdefault(page, {"path": page, "samples": 0})
        row["samples"] = max(row["samples"], counts[(vital, page)])
        lower, upper, fraction = percentile_ranks(counts[(vital, page)], 0.75)
        row[f"{vital}_p75"] = percentile_between(values[lower], values[upper], fraction)
    return [
        {"path": page, "samples": pages[page]["samples"],
         **{f"{vital}_p75": pages[page].get(f"{vital}_p75") for vital in VITALS}}
        for page in sorted(pages)
    ]  # fmt: skip

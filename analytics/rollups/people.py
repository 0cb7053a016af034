"""Persons: who an event is counted under (an account, or a browser's distinct id), and the
tables the exact pass by day keeps of them: daily user stats, platform metrics by day, and
the person tables (first seen, sign-up, first time per event, weekly and monthly activity).
"""

import datetime as dt
from collections import defaultdict

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate

from analytics.maths.funnels import period_start
from analytics.models import (
    DailyUserStats,
    DistinctIdLink,
    Event,
    EventRollup,
    Person,
    PersonActivity,
    PersonFirstEvent,
    PlatformMetric,
)
from analytics.rollups.buckets import STEP

USER, ANONYMOUS = "u:", "a:"  # how a person key begins: an account, or a distinct id


def person_keys(*, user_id: int, distinct_ids: list[str]) -> list[str]:
    """The person keys an account and the distinct ids it used are counted under."""
    return [f"{USER}{user_id}", *(f"{ANONYMOUS}{d}" for d in distinct_ids)]


def events_with_person(queryset=None):
    """Annotate events with `person`: "u:<user id>" for a known user (directly, or through a
    distinct id they logged in with), else "a:<distinct id>"."""
    linked = DistinctIdLink.objects.filter(distinct_id=OuterRef("distinct_id")).values("user_id")
    queryset = (queryset if queryset is not None else Event.objects.all()).annotate(
        linked_user=Subquery(linked[:1])
    )
    known = Coalesce("user_id", "linked_user")
    return queryset.annotate(
        person=Case(
            When(
                Q(user_id__isnull=False) | Q(linked_user__isnull=False),
                then=Concat(Value(USER), Cast(known, CharField())),
            ),
            default=Concat(Value(ANONYMOUS), F("distinct_id")),
            output_field=CharField(),
        )
    )


def insert_select(table: str, columns: str, select: str, queryset, params=()) -> None:
    """INSERT INTO table (columns) SELECT `select` FROM (the queryset's SQL) q: the database
    computes and stores the rows; none pass through Python."""
    sql, query_params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {select} FROM ({sql}) q",
            [*params, *query_params],
        )


def daily_user_stats_insert(start: dt.datetime, end: dt.datetime) -> None:
    events = events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lt=end))
    rows = (
        events.annotate(day=TruncDate("timestamp", tzinfo=dt.UTC))
        .values("day", "person")
        .annotate(
            events=Count("id"),
            pageviews=Count("id", filter=Q(event="$pageview")),
            votes=Count("id", filter=Q(event="vote_cast")),
        )
    )
    insert_select(
        DailyUserStats._meta.db_table,
        "day, person, events, pageviews, votes",
        "q.day, q.person, q.events, q.pageviews, q.votes",
        rows,
    )


PLATFORM_EVENTS = {"pageviews": "$pageview", "votes": "vote_cast", "signups": "signed_up",
                   "follows": "artist_followed"}  # fmt: skip


def platform_metrics(start: dt.datetime, end: dt.datetime) -> list[PlatformMetric]:
    """Per day: all events, distinct persons, and counts of the events that matter most."""
    values: dict[tuple[dt.date, str], int] = defaultdict(int)
    cells = EventRollup.objects.filter(
        granularity="day", dimension="", bucket__gte=start, bucket__lt=end
    ).values_list("bucket", "event", "count")
    for bucket, event, count in cells:
        values[(bucket.date(), "events")] += count
        for name, platform_event in PLATFORM_EVENTS.items():
            if event == platform_event:
                values[(bucket.date(), name)] += count
    persons = (
        DailyUserStats.objects.filter(day__gte=start.date(), day__lt=end.date())
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    for day, n in persons:
        values[(day, "persons")] = n
    return [PlatformMetric(day=d, name=n, value=v) for (d, n), v in sorted(values.items())]


# Active users over rolling windows, for every day from `first` to `last` at once. A person
# active on days x1 < x2 < ... is counted in a w-day window ending on day d when some xi is in
# (d - w, d]; the row of xi covers the days [xi, min(xi + w, x(i+1))), so a person's rows
# cover disjoint spans whose union is every day they count on. Each row adds 1 where its span
# starts and takes it away where it ends; a running sum over the days gives the counts, and
# only a few rows a day leave the database, however many persons.
ACTIVE_WINDOWS = """
WITH runs AS (
  SELECT day, LEAD(day) OVER (PARTITION BY person ORDER BY day) AS next
  FROM {table} WHERE day >= %s AND day <= %s
), marks AS (
  SELECT day, 1 AS d, 1 AS w, 1 AS m FROM runs
  UNION ALL SELECT {day_1}, -1, 0, 0 FROM runs
  UNION ALL SELECT {least_7}, 0, -1, 0 FROM runs
  UNION ALL SELECT {least_30}, 0, 0, -1 FROM runs
)
SELECT day, SUM(d), SUM(w), SUM(m) FROM marks GROUP BY day ORDER BY day
"""
ACTIVE_NAMES = ("dau", "wau", "mau")  # stored as platform metrics, by day


def _day_plus(days: int) -> str:
    if connection.vendor == "sqlite":
        return f"date(day, '+{days} days')"
    return f"(day + {days})"


def active_windows(first: dt.date, last: dt.date) -> dict[dt.date, tuple[int, int, int]]:
    """Per day from first to last: distinct persons active that day, in the 7 days and in
    the 30 days ending that day (DAU, WAU, MAU), from the daily user stats, counted by the
    database."""
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    spans = {
        f"least_{w}": f"{least}({_day_plus(w)}, COALESCE(next, {_day_plus(w)}))" for w in (7, 30)
    }
    sql = ACTIVE_WINDOWS.format(table=DailyUserStats._meta.db_table, day_1=_day_plus(1), **spans)
    lookback = first - dt.timedelta(days=29)
    with connection.cursor() as cursor:
        cursor.execute(sql, [lookback, last])
        changes = {
            (day if isinstance(day, dt.date) else dt.date.fromisoformat(day)): (d, w, m)
            for day, d, w, m in cursor.fetchall()
        }
    counts, running, day = {}, (0, 0, 0), lookback
    while day <= last:
        step = changes.get(day, (0, 0, 0))
        running = tuple(int(a + b) for a, b in zip(running, step, strict=True))
        if day >= first:
            counts[day] = running
        day += dt.timedelta(days=1)
    return counts


def active_windows_store(first: dt.date, last: dt.date) -> None:
    """Store DAU, WAU and MAU as platform metrics ("dau", "wau", "mau") for the days from
    first to last, replacing what was there: after the daily user stats of some days change,
    so do the windows of the 29 days after each."""
    if last < first:
        return
    counts = active_windows(first, last)
    PlatformMetric.objects.filter(day__gte=first, day__lte=last, name__in=ACTIVE_NAMES).delete()
    PlatformMetric.objects.bulk_create(
        PlatformMetric(day=day, name=name, value=counts[day][k])
        for day in counts
        for k, name in enumerate(ACTIVE_NAMES)
    )


# Folding a day into the person tables: upserts that only ever move a day or a time earlier,
# and inserts that only add; so a day folds in again with no change, and nothing is rewritten
# that stays the same. `{firsts}` holds the day's events grouped by person and event.
PERSON_UPSERT = """
INSERT INTO {person} (key, first_seen, signed_up)
SELECT q.person, %s, CASE WHEN MAX(CASE WHEN q.event = 'signed_up' THEN 1 ELSE 0 END) = 1
                          THEN %s END
FROM {firsts} q WHERE true GROUP BY q.person
ON CONFLICT (key) DO UPDATE SET
  first_seen = CASE WHEN {person}.first_seen < EXCLUDED.first_seen
                    THEN {person}.first_seen ELSE EXCLUDED.first_seen END,
  signed_up = CASE WHEN EXCLUDED.signed_up IS NULL OR {person}.signed_up < EXCLUDED.signed_up
                   THEN {person}.signed_up ELSE EXCLUDED.signed_up END
WHERE EXCLUDED.first_seen < {person}.first_seen
   OR (EXCLUDED.signed_up IS NOT NULL
       AND ({person}.signed_up IS NULL OR EXCLUDED.signed_up < {person}.signed_up))
"""


FIRST_EVENT_UPSERT = """
INSERT INTO {first_event} (person_id, event, first_at)
SELECT p.id, q.event, q.first_at FROM {firsts} q JOIN {person} p ON p.key = q.person
WHERE true
ON CONFLICT (event, person_id) DO UPDATE SET first_at = EXCLUDED.first_at
WHERE EXCLUDED.first_at < {first_event}.first_at
"""


ACTIVITY_INSERT = """
INSERT INTO {activity} (person_id, period, start, event)
SELECT p.id, v.period, v.start, x.event
FROM (SELECT person, event FROM {firsts} UNION SELECT person, '' FROM {firsts}) x
JOIN {person} p ON p.key = x.person
CROSS JOIN (SELECT 'week' AS period, %s AS start UNION ALL SELECT 'month', %s) v
WHERE true
ON CONFLICT DO NOTHING
"""


def linked_people_merge() -> int:
    """Fold each anonymous person whose browser has since been linked to an account into
    that user's person: earliest dates and first times, all activity; then drop it. Without
    this, browsing before a sign-up or log-in would count as a second person for good."""
    links = DistinctIdLink.objects.annotate(key=Concat(Value(ANONYMOUS), "distinct_id"))
    pairs = list(links.filter(key__in=Person.objects.values("key")).values_list("key", "user_id"))
    for anonymous_key, user_id in pairs:
        anonymous = Person.objects.get(key=anonymous_key)
        person, created = Person.objects.get_or_create(
            key=f"{USER}{user_id}",
            defaults={"first_seen": anonymous.first_seen, "signed_up": anonymous.signed_up},
        )
        if not created:
            person.first_seen = min(person.first_seen, anonymous.first_seen)
            dates = [d for d in (person.signed_up, anonymous.signed_up) if d]
            person.signed_up = min(dates) if dates else None
            person.save(update_fields=["first_seen", "signed_up"])
        firsts = dict(person.first_events.values_list("event", "first_at"))
        for event, first_at in anonymous.first_events.values_list("event", "first_at"):
            if event not in firsts or first_at < firsts[event]:
                PersonFirstEvent.objects.update_or_create(
                    person=person, event=event, defaults={"first_at": first_at}
                )
        PersonActivity.objects.bulk_create(
            [
                PersonActivity(person=person, period=period, start=start, event=event)
                for period, start, event in anonymous.activity.values_list(
                    "period", "start", "event"
                )
            ],
            ignore_conflicts=True,
        )
        anonymous.delete()
    return len(pairs)


def people_fold(start: dt.datetime, end: dt.datetime) -> None:
    """Fold each day's events into Person (first seen, signed up), PersonFirstEvent (first
    time per event) and PersonActivity (who did what in which week and month)."""
    tables = {
        "person": Person._meta.db_table,
        "first_event": PersonFirstEvent._meta.db_table,
        "activity": PersonActivity._meta.db_table,
    }
    linked_people_merge()
    firsts = "analytics_day_firsts"  # a temporary table: the day's events are read once
    day = start
    while day < end:
        events = Event.objects.filter(timestamp__gte=day, timestamp__lt=day + STEP["day"])
        grouped, params = (
            events_with_person(events)
            .values("person", "event")
            .annotate(first_at=Min("timestamp"))
            .query.sql_with_params()
        )
        date = day.date()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {firsts}")
            cursor.execute(f"CREATE TEMPORARY TABLE {firsts} AS {grouped}", params)
            cursor.execute(PERSON_UPSERT.format(firsts=firsts, **tables), [date, date])
            cursor.execute(FIRST_EVENT_UPSERT.format(firsts=firsts, **tables))
            cursor.execute(
                ACTIVITY_INSERT.format(firsts=firsts, **tables),
                [period_start(date, "week"), period_start(date, "month")],
            )
            cursor.execute(f"DROP TABLE {firsts}")
        day += STEP["day"]

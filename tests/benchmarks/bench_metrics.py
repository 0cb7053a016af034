"""Metric queries over 10 million events: trend, funnel and retention latency.

Generates the events inside PostgreSQL (30 days, 50,000 persons), rebuilds minute rollups
(which keep the timeline) and hour and day rollups, then times each query 20 times and prints
p50/p95 beside baselines from the same run: a count straight from the raw events, and a
funnel with a breakdown, which reads raw events.

    make bench-metrics        # BENCH_EVENTS=10000000 by default; the first run takes minutes
"""

import datetime as dt
import os
import statistics
import time

from common import bench_database_url, setup_django

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
PERSONS = 50_000
END = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
START = END - dt.timedelta(days=30)

GENERATE = """
INSERT INTO analytics_event (message_id, event, distinct_id, user_id, timestamp, received_at,
                             properties, context, ip)
SELECT 'b' || n,
       (ARRAY['$pageview', '$pageview', '$pageview', 'vote_cast', 'vote_cast', 'artist_followed',
              'click', 'signed_up'])[(1 + hashint %% 8)::int],
       'p' || ((n::bigint * 7919) %% {persons}),
       NULL,
       %(start)s::timestamptz + ((n::float / {events}) * interval '30 days'),
       now(),
       -- As on the platform: every event names its artist and show, only votes a song.
       CASE WHEN hashint %% 8 IN (3, 4)
            THEN jsonb_build_object('show_id', 1 + hashint %% 400, 'song_id', 1 + hashint %% 9000,
                                    'artist_id', 1 + hashint %% 40)
            ELSE jsonb_build_object('show_id', 1 + hashint %% 400, 'artist_id', 1 + hashint %% 40)
       END,
       '{{}}'::jsonb,
       NULL
FROM (SELECT n, abs(hashtext(n::text)::bigint) AS hashint
      FROM generate_series(1, {events}) AS n) AS g
"""


def timed(_label: str, query, runs: int = 20) -> list[float]:
    query()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        query()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(label: str, times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=20, method="inclusive")
    return f"  {label:<46} p50 {statistics.median(times):8.1f} ms   p95 {cuts[18]:8.1f} ms"


def events_ready() -> None:
    """Point Django at the benchmark's database and make sure it holds the 10 million events
    and their rollups (generated on the first run, kept for later ones and for
    bench-dashboards, which reads the same events)."""
    # Its own database: the other benchmarks empty the events table of theirs.
    setup_django(bench_database_url("_bench_metrics"))
    from django.db import connection

    from analytics.lifecycle.partitions import event_partitions_ensure
    from analytics.models import Person, TimelineMinute
    from analytics.rollups.passes import rollup_tables_vacuum, rollups_rebuild

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_event WHERE message_id LIKE 'b%%'")
        have = cursor.fetchone()[0]
    if have != EVENTS:
        print(f"generating {EVENTS} events ...", flush=True)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE analytics_event, analytics_eventrollup, "
                           "analytics_dailyuserstats, analytics_platformmetric, "
                           "analytics_person CASCADE")  # fmt: skip
        event_partitions_ensure(today=END.date(), months_ahead=1)
        with connection.cursor() as cursor:
            cursor.execute(GENERATE.format(persons=PERSONS, events=EVENTS), {"start": START})
            cursor.execute("ANALYZE analytics_event")
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    # Minute rollups keep the timeline; hour and day ones the cells and person tables.
    granularities = [
        *(["minute"] if have != EVENTS or not TimelineMinute.objects.exists() else []),
        *(["hour", "day"] if have != EVENTS or not Person.objects.exists() else []),
    ]
    if granularities:
        print(f"rolling up by {', '.join(granularities)} ...", flush=True)
        started = time.perf_counter()
        rollups_rebuild(start=START, end=END, granularities=tuple(granularities))
        rollup_tables_vacuum(tuple(granularities))
        print(f"  rolled up in {time.perf_counter() - started:.0f} s", flush=True)


def main():
    events_ready()
    from analytics.metrics import funnel, funnel_first_time, retention, trend
    from analytics.models import Event

    day = dt.timedelta(days=1)
    results = [
        ("trend, 30 days by day, from rollups",
         timed("", lambda: trend(event="vote_cast", interval="day", start=START, end=END - day))),
        ("trend, 7 days by hour, by show, from rollups",
         timed("", lambda: trend(event="vote_cast", interval="hour", start=END - 7 * day,
                                 end=END - dt.timedelta(hours=1), breakdown="show_id"))),
        ("retention, weekly cohorts, 30 days",
         timed("", lambda: retention(period="week", periods=4, first_day=START.date(),
                                     last_day=END.date()))),
        ("retention, weekly, returning on votes",
         timed("", lambda: retention(period="week", periods=4, first_day=START.date(),
                                     last_day=END.date(), returning_event="vote_cast"))),
        ("funnel, first time, 3 steps, 30 days",
         timed("", lambda: funnel_first_time(steps=["$pageview", "vote_cast", "artist_followed"],
                                             window=7 * day, start=START, end=END))),
        ("funnel, sequence, 2 steps, 1 day (timeline)",
         timed("", lambda: funnel(steps=["$pageview", "vote_cast"], window=dt.timedelta(hours=1),
                                  start=END - day, end=END))),
        ("funnel, sequence, 3 steps, 1 day (timeline)",
         timed("", lambda: funnel(steps=["$pageview", "vote_cast", "artist_followed"],
                                  window=dt.timedelta(hours=6), start=END - day, end=END))),
        ("funnel, sequence, 2 steps, 1 day, by artist (raw)",
         timed("", lambda: funnel(steps=["$pageview", "vote_cast"], window=dt.timedelta(hours=1),
                                  start=END - day, end=END, breakdown="artist_id"), runs=5)),
    ]  # fmt: skip
    raw_count = Event.objects.filter(event="vote_cast", timestamp__gte=START, timestamp__lt=END)
    baseline = timed("", lambda: raw_count.count(), runs=3)
    print(f"\nbench-metrics on {os.cpu_count()} cores, {EVENTS} events over 30 days")
    for label, times in results:
        print(line(label, times))
    print(line("baseline: 30-day count from raw events", baseline))


if __name__ == "__main__":
    main()

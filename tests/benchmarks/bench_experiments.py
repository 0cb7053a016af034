"""Experiments: assignment calls/s beside a bare hash, and results beside a raw count.

Assignment, in this process: `get_variant` for visitors already exposed (the steady state of
a page: the exposure is recorded once, then known to the process), for visitors never seen
(each call records an exposure row and its analytics event: far slower, reported apart) and
without exposure (what `assignments_for` does for every running experiment), beside the
GrowthBook SDK's bare hash of the same ids. The target is 100,000 calls/s.

Results, over an experiment of BENCH_EXPOSURES exposed subjects (30% signed in) and
BENCH_EVENTS events of its primary metric's event around their exposures, generated inside
PostgreSQL and kept between runs in `<database>_bench_experiments`: the full refresh
(outcomes and their cells recomputed from raw events, then the analysis stored) and the
analysis alone of the stored cells (what the results cost once outcomes are current: the
page itself reads the stored analysis), beside a raw count of the same events. The target is
1 s.

    make bench-experiments    # 1,000,000 exposures and 10,000,000 events; minutes at first
    BENCH_EXPOSURES=100000 BENCH_EVENTS=1000000 make bench-experiments    # a quick run
"""

import datetime as dt
import os
import statistics
import time
import uuid

from common import bench_database_url, setup_django

EXPOSURES = int(os.environ.get("BENCH_EXPOSURES", "1000000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
CALLS = int(os.environ.get("BENCH_CALLS", "200000"))
FIRST_CALLS = int(os.environ.get("BENCH_FIRST_CALLS", "2000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))  # of each recompute
TARGET_CALLS = 100_000
TARGET_SECONDS = 1.0

END = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
START = END - dt.timedelta(days=21)  # exposures over the first 14 days; events until END
SIGNED_IN = "n %% 10 < 3"  # which subjects are accounts (their id is n), the rest browsers

# Subject n's exposure time; the events use the same expression to fall around it.
EXPOSED_AT = (
    "%(start)s::timestamptz + interval '14 days' * (((n::bigint * 7919) %% {exposures})::float"
    " / {exposures})"
)

USERS = """
INSERT INTO users_user (id, password, is_superuser, username, first_name, last_name, email,
                        is_staff, is_active, date_joined, timezone)
SELECT n, '', false, 'fan' || n, '', '', 'fan' || n || '@bench.invalid', false, true,
       %(start)s::timestamptz - interval '90 days' + (n %% 120) * interval '1 day', 'UTC'
FROM generate_series(1, {exposures}) AS n WHERE {signed_in}
"""

EXPOSURE_ROWS = """
INSERT INTO experiments_exposure (phase_id, subject, user_id, variant, exposed_at, platform,
                                  country, is_new)
SELECT %(phase)s,
       CASE WHEN {signed_in} THEN 'user:' || n ELSE 'anon-' || n END,
       CASE WHEN {signed_in} THEN n END,
       n %% 2,
       {exposed_at},
       (ARRAY['web', 'web', 'ios', 'android'])[1 + n %% 4],
       (ARRAY['US', 'GB', 'DE', 'FR', 'BR'])[1 + n %% 5],
       n %% 7 = 0
FROM generate_series(1, {exposures}) AS n
"""

# Event i belongs to subject n, skewed towards low n (a few fans vote a lot); 1 in 8 to a
# browser never exposed. An exposed subject's events fall from 7 days before its exposure to
# 10 days after, treatment (odd n) a little more often after; the others' anywhere.
EVENT_ROWS = """
INSERT INTO analytics_event (message_id, event, distinct_id, user_id, timestamp, received_at,
                             properties, context, ip)
SELECT 'x' || i, 'vote_cast',
       CASE WHEN n > {exposures} OR NOT ({signed_in}) THEN 'anon-' || n ELSE 'user:' || n END,
       CASE WHEN n <= {exposures} AND {signed_in} THEN n END,
       CASE WHEN n > {exposures}
            THEN %(start)s::timestamptz - interval '7 days' + interval '28 days' * f
            ELSE {exposed_at} + interval '1 day' * (f * (17 + n %% 2) - 7) END,
       %(end)s::timestamptz,
       jsonb_build_object('show_id', 1 + h %% 400),
       '{{}}'::jsonb,
       NULL
FROM (SELECT i, h, ((h >> 8) %% 100000)::float / 100000 AS f,
             1 + floor({exposures} * 8 / 7.0 * power((h %% 1000003)::float / 1000003, 3))::bigint
             AS n
      FROM (SELECT i, abs(hashtext(i::text)::bigint) AS h
            FROM generate_series(1, {events}) AS i) AS g) AS e
"""


def rate(label: str, calls: int, seconds: float) -> str:
    return f"  {label:<58} {calls / seconds:12,.0f} calls/s"


def median_seconds(run, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def bench_assignment() -> list[str]:
    """Time get_variant on each path, and the SDK's bare hash of the same ids."""
    from growthbook.core import gbhash

    from experiments import services
    from experiments.models import Experiment

    Experiment.objects.filter(key="bench-assign").delete()  # its exposures with it
    created = services.experiment_create(
        key="bench-assign",
        name="Bench assign",
        variants=[services.VariantSpec(key="control", weight=0.5),
                  services.VariantSpec(key="b", weight=0.5)],
    )  # fmt: skip
    services.experiment_start(experiment=created)
    seed = created.phases.get().seed
    run = uuid.uuid4().hex[:8]
    fresh = [f"fresh-{run}-{i}" for i in range(FIRST_CALLS)]
    started = time.perf_counter()
    for distinct_id in fresh:
        services.get_variant(key="bench-assign", distinct_id=distinct_id)
    first = time.perf_counter() - started

    # The steady state: the same visitors again and again, each known to the process.
    steady_ids = [fresh[i % FIRST_CALLS] for i in range(CALLS)]
    started = time.perf_counter()
    for distinct_id in steady_ids:
        services.get_variant(key="bench-assign", distinct_id=distinct_id)
    steady = time.perf_counter() - started

    unexposed_ids = [f"view-{run}-{i}" for i in range(CALLS)]
    started = time.perf_counter()
    for distinct_id in unexposed_ids:
        services.get_variant(key="bench-assign", distinct_id=distinct_id, expose=False)
    unexposed = time.perf_counter() - started

    hashes = {}
    for label, ids in (("steady", steady_ids), ("unexposed", unexposed_ids)):
        started = time.perf_counter()
        for distinct_id in ids:
            gbhash(seed, distinct_id, 2)
        hashes[label] = time.perf_counter() - started
    return [
        f"assignment, one process, {CALLS:,} calls (target {TARGET_CALLS:,} calls/s)",
        rate("get_variant, visitor already exposed (steady state)", CALLS, steady),
        rate("get_variant, expose=False (assignments_for)", CALLS, unexposed),
        rate(f"get_variant, first exposure (row + event), {FIRST_CALLS:,} ids", FIRST_CALLS,
             first),
        rate("baseline: growthbook gbhash of the steady-state ids", CALLS, hashes["steady"]),
        rate("baseline: growthbook gbhash of the expose=False ids", CALLS, hashes["unexposed"]),
    ]  # fmt: skip


def results_data():
    """Return the results experiment, generating its exposures and events unless a run
    before left them at this scale."""
    from django.db import connection

    from analytics.lifecycle.partitions import event_partitions_ensure
    from experiments import services
    from experiments.models import Exposure, Metric

    votes, _ = Metric.objects.get_or_create(
        key="bench-votes", defaults={"name": "Votes", "kind": Metric.Kind.CONVERSION,
                                     "event": "vote_cast", "window_days": 7},
    )  # fmt: skip
    experiment = services.Experiment.objects.filter(key="bench-results").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_event WHERE message_id LIKE 'x%%'")
        have_events = cursor.fetchone()[0]
    have_exposures = (
        Exposure.objects.filter(phase__experiment=experiment).count() if experiment else 0
    )
    if have_events == EVENTS and have_exposures == EXPOSURES:
        return experiment
    print(f"generating {EXPOSURES:,} exposures and {EVENTS:,} events ...", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_event, experiments_outcome, experiments_result, "
                       "experiments_exposure")  # fmt: skip
        cursor.execute("DELETE FROM users_user WHERE email LIKE '%%@bench.invalid'")
    services.Experiment.objects.filter(key="bench-results").delete()
    experiment = services.experiment_create(
        key="bench-results",
        name="Bench results",
        primary_metric=votes,
        variants=[services.VariantSpec(key="control", weight=0.5),
                  services.VariantSpec(key="b", weight=0.5)],
    )  # fmt: skip
    experiment = services.experiment_start(experiment=experiment)
    phase = experiment.phases.get()
    event_partitions_ensure(today=END.date(), months_ahead=1)
    shape = {"exposures": EXPOSURES, "events": EVENTS, "signed_in": SIGNED_IN}
    exposed_at = EXPOSED_AT.format(**shape)
    params = {"start": START, "end": END, "phase": phase.pk}
    with connection.cursor() as cursor:
        cursor.execute(USERS.format(**shape), params)
        cursor.execute(EXPOSURE_ROWS.format(exposed_at=exposed_at, **shape), params)
        cursor.execute(EVENT_ROWS.format(exposed_at=exposed_at, **shape), params)
        cursor.execute("ANALYZE users_user, experiments_exposure, analytics_event")
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return experiment


def bench_results() -> list[str]:
    from django.db import connection

    from experiments.results import selectors, services

    experiment = results_data()
    phase = selectors.phase_latest(experiment=experiment)
    metric = experiment.primary_metric
    first, last = selectors.phase_exposure_span(phase=phase)
    window = dt.timedelta(days=metric.window_days)
    since, until = first - window, last + window

    def raw_count():
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT count(*) FROM analytics_event WHERE event = %s AND "timestamp" >= %s '
                'AND "timestamp" < %s',
                [metric.event, since, until],
            )
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:  # what earlier runs left dead
        cursor.execute("VACUUM ANALYZE experiments_outcome")
    counted = raw_count()  # and warms the cache
    count, count_times = median_seconds(raw_count, 5)
    refresh, refresh_times = median_seconds(
        lambda: services.results_refresh(experiment=experiment), RUNS
    )
    compute, compute_times = median_seconds(
        lambda: services.results_compute(experiment=experiment), RUNS
    )
    # Each recompute leaves the old outcomes dead: autovacuum's work, done here at once, so
    # that the analysis reads what it would once outcomes are current.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE experiments_outcome")
    analyse, analyse_times = median_seconds(
        lambda: services.results_analyse(experiment=experiment), 5
    )
    outcomes = phase.exposures.filter(outcomes__metric=metric).count()

    def row(label, seconds, times):
        spread = ", ".join(f"{t:.2f}" for t in times)
        return (f"  {label:<52} {seconds:8.2f} s  ({seconds / count:5.1f}x the count;"
                f" runs {spread})")  # fmt: skip

    return [
        f"results, {EXPOSURES:,} exposures, {counted:,} events in the metric's span, "
        f"{outcomes:,} outcomes (target {TARGET_SECONDS:g} s)",
        row("results_refresh (outcomes recomputed + analysis)", refresh, refresh_times),
        row("results_compute (outcomes recomputed alone)", compute, compute_times),
        row("results_analyse (analysis of the stored cells)", analyse, analyse_times),
        row("baseline: SELECT count(*) of the same events", count, count_times),
    ]


def main():
    # Its own database: the generated events would swamp the other benchmarks'.
    setup_django(bench_database_url("_bench_experiments"))
    lines = bench_assignment()
    lines += bench_results()
    print(f"\nbench-experiments on {os.cpu_count()} cores")
    for text in lines:
        print(text)


if __name__ == "__main__":
    main()

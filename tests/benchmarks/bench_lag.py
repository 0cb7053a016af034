"""Ingestion lag: from an event's acceptance to its count in the minute rollups, under load.

The platform as production runs it, on the bench database: granian (BENCH_WORKERS workers of
BENCH_THREADS threads), `celery worker`s for the live queue (the live pass, one child), the
rollups queue (the exact passes, one child) and the rest (two), and `celery beat` with the
project's schedules (the live pass every second, the exact pass by minute every 2 s), on the
Redis database BENCH_REDIS_DB (14) so that no other worker takes their tasks. In each phase
a probe posts one event every quarter second and watches, from a second database
connection, for the trend's minute cell to count it; beside it, batches of events stamped
"now" (live traffic, which keeps the current minute's cell busy) are sent at a steady rate.
Prints, per phase:
- the probe's lag, accepted to visible in the rollups the trend API reads (end to end);
- the platform's own ingestion-lag metric (`/api/analytics/ingestion-lag/`) over the live
  pass's runs in the phase, and its lag to exact (persons, the timeline) over the exact
  pass's runs by minute;
with the idle phase (the probe alone) as the baseline: what beat's schedule alone costs.
Where the server runs with autovacuum off, the tables the passes churn are vacuumed once
per autovacuum_naptime in its stead, as it would (their settings bring it round after a
fixed number of dead rows), and the output says so.

    make bench-lag        # BENCH_LAG_RATES=0,5000,10000,25000 events/s, BENCH_LAG_SECONDS=70
"""

import datetime
import http.client
import io
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid

import orjson
from bench_ingest import make_event
from common import (
    ROOT,
    bench_database_url,
    free_port,
    percentiles,
    redis_database_url,
    setup_django,
    start_server,
    stop,
)

RATES = [int(r) for r in os.environ.get("BENCH_LAG_RATES", "0,5000,10000,25000").split(",")]
# Over a minute: the exact pass recomputes the current minute whole, its cost growing as the
# minute fills, and takes its share of the machine from the live pass.
SECONDS = float(os.environ.get("BENCH_LAG_SECONDS", "70"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
CONNECTIONS = 4
BATCH = 1000
PROBE_EVERY = 0.25  # seconds
PROBE = "bench_lag_probe"
ENV = {"DJANGO_SETTINGS_MODULE": "mysetlist.settings.local", "DJANGO_DEBUG": "false",
       "LOG_LEVEL": "WARNING", "THROTTLE_INGEST": "1000000/s",
       "DATABASE_CONN_MAX_AGE": "60"}  # fmt: skip
# Stand-ins replaced in each batch: its time (24 characters) and a tag in its message ids.
STAMP, TAG = b"0000-00-00T00:00:00.000Z", b"TTTTTTTTTTTT"


def stamp(moment: datetime.datetime) -> bytes:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z").encode()


def batch_templates(count: int = 8) -> list[bytes]:
    """Batches of bench-ingest's plausible events, with STAMP for their time and TAG in their
    message ids, to fill in as each is sent."""
    rng, now = random.Random(11), datetime.datetime.now(datetime.UTC)
    templates = []
    for _ in range(count):
        events = [
            {**make_event(rng, n, now), "timestamp": STAMP.decode(),
             "message_id": f"{TAG.decode()}-{n:04d}"}
            for n in range(BATCH)
        ]  # fmt: skip
        templates.append(orjson.dumps({"batch": events}))
    return templates


def post(conn: http.client.HTTPConnection, secret: str, body: bytes) -> dict:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
    conn.request("POST", "/api/analytics/events", body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"ingest answered {response.status}: {payload[:200]!r}")
    return orjson.loads(payload)


def load(port: int, secret: str, rate: int, until: float, failures: list, phase: int) -> int:
    """Send batches at `rate` events/s over CONNECTIONS connections until `until`; return
    the events accepted. Message ids hold the phase, so none repeats an earlier phase's; a
    batch late on its schedule is sent at once, never skipped."""
    if rate == 0:
        return 0
    templates, lock, sent = batch_templates(), threading.Lock(), [0, 0]  # batches, accepted
    started = time.monotonic()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                n = sent[0]
                sent[0] += 1
            due = started + n * BATCH / rate
            if due >= until:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            body = (
                templates[n % len(templates)]
                .replace(STAMP, stamp(datetime.datetime.now(datetime.UTC)))
                .replace(TAG, f"{phase:03d}{n:09d}".encode())
            )
            try:
                accepted = post(conn, secret, body)["accepted"]
            except BaseException as exc:  # SystemExit included: report it from the main thread
                failures.append(exc)
                break
            with lock:
                sent[1] += accepted
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent[1]


def probe(port: int, secret: str, db_url: str, until: float, name: str) -> list[float]:
    """Post a probe event named `name` (a name of its own each phase, so that each starts
    with no count) every PROBE_EVERY seconds until `until`; return, for each, the
    seconds from just before its request to the first moment the minute cell of its event
    counts it (probes are sent one after another, so the k-th of a minute is visible once
    its cell counts k). Probes still unseen 60 s after the last are reported as failures."""
    import psycopg

    sent: list[tuple[float, datetime.datetime, int]] = []  # (clock, minute, k-th in minute)
    seen: dict[int, float] = {}
    done = threading.Event()

    def watch():
        counts = {}
        with psycopg.connect(db_url, autocommit=True) as conn:
            while not (done.is_set() and len(seen) == len(sent)):
                rows = conn.execute(
                    "SELECT bucket, count FROM analytics_eventrollup WHERE granularity = "
                    "'minute' AND event = %s AND dimension = ''",
                    [name],
                ).fetchall()
                now = time.monotonic()
                counts.update(rows)
                for n, (_, minute, k) in enumerate(list(sent)):
                    if n not in seen and counts.get(minute, 0) >= k:
                        seen[n] = now
                if done.is_set() and sent and now > sent[-1][0] + 60:
                    break
                time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    per_minute: dict[datetime.datetime, int] = {}
    try:
        while time.monotonic() < until:
            moment = datetime.datetime.now(datetime.UTC)
            minute = moment.replace(second=0, microsecond=0)
            clock = time.monotonic()
            body = {"event": name, "distinct_id": "probe", "message_id": uuid.uuid4().hex,
                    "timestamp": stamp(moment).decode()}  # fmt: skip
            if post(conn, secret, orjson.dumps(body))["accepted"] != 1:
                raise SystemExit("a probe event was not accepted")
            per_minute[minute] = per_minute.get(minute, 0) + 1
            sent.append((clock, minute, per_minute[minute]))
            time.sleep(max(0.0, clock + PROBE_EVERY - time.monotonic()))
    finally:
        conn.close()
        done.set()
        watcher.join()
    if len(seen) < len(sent):
        raise SystemExit(f"{len(sent) - len(seen)} of {len(sent)} probes never became visible")
    return [seen[n] - clock for n, (clock, _, _) in enumerate(sent)]


def celery(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mysetlist", *args, "--loglevel=WARNING"],
        cwd=ROOT, env={**os.environ, **ENV}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def celery_worker(queue: str, *, concurrency: int) -> subprocess.Popen:
    """A worker on one queue, as the README runs them."""
    return celery("worker", f"--queues={queue}", "--pool=prefork",
                  f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
                  "-n", f"bench-{queue}-{os.getpid()}@%h")  # fmt: skip


# The tables the rollup passes update or empty many times a second.
CHURNED = ("analytics_eventrollup", "analytics_rollupbatch", "analytics_rollupdirty")


def autovacuum_stand_in(db_url: str, stopping: threading.Event) -> list[float]:
    """Where the server runs with autovacuum off, as this machine's does, do what it would
    do for the churned tables, whose settings bring it round after a fixed number of dead
    rows: vacuum them once per autovacuum_naptime. Return how long each round took."""
    import psycopg

    rounds = []
    with psycopg.connect(db_url, autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] == "on":
            return rounds
        naptime = conn.execute(
            "SELECT setting::int FROM pg_settings WHERE name = 'autovacuum_naptime'"
        ).fetchone()[0]
        while not stopping.wait(naptime):
            started = time.perf_counter()
            for table in CHURNED:
                conn.execute(f"VACUUM (ANALYZE) {table}")
            rounds.append(time.perf_counter() - started)
    return rounds


def workers_ready(*workers: subprocess.Popen) -> None:
    from mysetlist.celery import app

    for _ in range(100):
        if len(app.control.ping(timeout=0.5)) >= len(workers):
            return
        if any(worker.poll() is not None for worker in workers):
            break
    stop(*workers)
    sys.exit("the Celery workers did not start")


def lag_line(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{percentiles(ms)}   max {max(ms):7.1f} ms"


def main():
    db_url = bench_database_url()
    os.environ.update(ENV)
    os.environ["REDIS_URL"] = redis_database_url(REDIS_DB)
    setup_django(db_url)
    from django.core.management import call_command
    from django.db import connection

    from analytics.lifecycle.partitions import event_partitions_ensure
    from analytics.metrics.live import ingestion_lag
    from analytics.services import ingest_key_create
    from mysetlist.celery import app

    with connection.cursor() as cursor:  # every run starts from the same, empty, tables
        cursor.execute(
            "TRUNCATE analytics_event, analytics_eventmessagekey, analytics_rollupdirty, "
            "analytics_rollupbatch, analytics_rolluprun, analytics_eventrollup"
        )
    app.control.purge()  # tasks a stopped run left on this Redis database
    event_partitions_ensure(today=datetime.date.today(), months_ahead=1)
    call_command("sync_schedules", "--reset", stdout=io.StringIO())
    _, secret = ingest_key_create(name=f"bench-lag-{uuid.uuid4().hex[:8]}")

    port = free_port()
    server = start_server("granian", port, db_url, workers=WORKERS, threads=THREADS, **ENV)
    # As the README runs them: one worker for the live queue (the live pass), one for the
    # exact passes, one for the rest.
    worker = celery_worker("celery", concurrency=2)
    live = celery_worker("live", concurrency=1)
    exact = celery_worker("rollups", concurrency=1)
    workers_ready(worker, live, exact)
    beat = celery("beat", "--schedule", "/dev/null")  # the database scheduler keeps its own
    results, vacuums, stopping = [], [], threading.Event()
    vacuum = threading.Thread(
        target=lambda: vacuums.extend(autovacuum_stand_in(db_url, stopping)), daemon=True
    )
    vacuum.start()
    try:
        probe(port, secret, db_url, time.monotonic() + 5, PROBE)  # warm up: imports, connections
        for phase, rate in enumerate(RATES):
            began = datetime.datetime.now(datetime.UTC)
            until = time.monotonic() + SECONDS
            failures: list = []
            loaded: list[int] = []
            loader = threading.Thread(
                target=lambda out, *args: out.append(load(*args)),
                args=(loaded, port, secret, rate, until, failures, phase),
            )
            loader.start()
            lags = probe(port, secret, db_url, until, f"{PROBE}_{rate}")
            loader.join()
            if failures:
                raise SystemExit(f"the load failed: {failures[0]!r}")
            accepted = loaded[0]
            hours = (datetime.datetime.now(datetime.UTC) - began).total_seconds() / 3600
            own = ingestion_lag(hours=hours), ingestion_lag(hours=hours, kind="exact")
            results.append((rate, accepted / SECONDS, lags, own))
    finally:
        stopping.set()
        stop(beat, exact, live, worker, server)
        app.control.purge()
    vacuum.join()

    print(f"\nbench-lag on {os.cpu_count()} cores: accepted to visible in minute rollups,")
    print(f"  a probe every {PROBE_EVERY} s for {SECONDS:.0f} s beside a steady batch load;"
          " beat runs the live pass every 1 s")  # fmt: skip
    if vacuums:
        median = statistics.median(vacuums)
        print(f"  autovacuum is off on this server: the churned tables were vacuumed in its"
              f" stead, {len(vacuums)} times, median {median:.2f} s")  # fmt: skip
    for rate, achieved, lags, metrics in results:
        label = "probe alone (baseline)" if rate == 0 else f"{achieved:7.0f} events/s of load"
        print(f"  {label:<26} probe ({len(lags)})  {lag_line(lags)}")
        for name, own in zip(("ingestion-lag metric", "to exact (persons)"), metrics, strict=True):
            if own.runs:
                print(f"  {'':<26} {name} ({own.runs} runs)  p50 {own.p50_ms:6.0f} ms"
                      f"  p99 {own.p99_ms:6.0f} ms  max {own.max_ms:6.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()

"""Analytics ingestion speed, beside PostgreSQL's own rate for the same rows.

Prints, from one run on the bench database:
- events/s through POST /api/analytics/events in batches of 1,000 events from the last hour
  (so they mark rollup buckets, as live traffic does), sent by this process (a second one,
  not the server's) over several keep-alive connections to granian with BENCH_WORKERS
  workers of BENCH_THREADS threads, and the same rows COPYed straight into PostgreSQL: the
  baseline; in BENCH_ROUNDS rounds of each in turn, with their medians and ratio;
- requests/s and latency of single-event requests, driven by wrk (apt-get install wrk), on
  granian and, for comparison, on gunicorn with as many workers and threads; beside them
  the rate at which this process INSERTs the same rows one at a time, a transaction each,
  over as many connections as the server has threads, into a copy of the events table
  without its indexes or the de-duplication key: the baseline, an upper bound.

    make bench-ingest        # BENCH_EVENTS=300000 BENCH_ROUNDS=3 BENCH_CONNECTIONS=4
                             # BENCH_WORKERS=2 BENCH_THREADS=2 by default
"""

import contextlib
import datetime
import http.client
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid

import orjson
from common import bench_database_url, free_port, setup_django, start_server, stop

COLUMNS = "message_id, event, distinct_id, user_id, timestamp, received_at, properties, context, ip"
EVENTS = int(os.environ.get("BENCH_EVENTS", "300000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BATCH = 1000
# As the README runs granian in production: persistent database connections.
SERVER_ENV = {"THROTTLE_INGEST": "1000000/s", "DATABASE_CONN_MAX_AGE": "60"}
NAMES = ["$pageview", "vote_cast", "artist_followed", "$web_vitals", "click", "$pageleave"]
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


def make_event(rng: random.Random, n: int, now: datetime.datetime) -> dict:
    """A plausible event of about 470 bytes as JSON, from the hour before `now`: as live
    traffic, it marks the rollup buckets it falls in."""
    show = rng.randint(1, 400)
    moment = now - datetime.timedelta(seconds=rng.uniform(0, 3600))
    return {
        "event": rng.choice(NAMES),
        "distinct_id": f"{rng.getrandbits(64):016x}",
        "message_id": uuid.uuid4().hex,
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "properties": {"path": f"/shows/{show}/", "show_id": show, "song_id": n % 9000, "value": 1},
        "context": {
            "page": {"path": f"/shows/{show}/", "referrer": "https://x.example/", "title": "Show"},
            "user_agent": AGENT, "locale": "en-US", "timezone": "America/Chicago",
            "device_type": rng.choice(["desktop", "mobile"]), "platform": "web",
        },
    }  # fmt: skip


def post_batches(port: int, secret: str, bodies: list[bytes]) -> float:
    """Send the bodies over CONNECTIONS keep-alive connections; return the seconds taken."""
    queue = list(reversed(bodies))
    lock, failures = threading.Lock(), []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            conn.request("POST", "/api/analytics/events", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200 or orjson.loads(payload)["accepted"] != BATCH:
                failures.append((response.status, payload[:200]))
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} batches failed, first: {failures[0]}")
    return time.perf_counter() - started


def checkpoint() -> None:
    """Start a measured phase with no checkpoint owed: one that the write-ahead log of an
    earlier phase forces (every max_wal_size) would otherwise land in whichever phase runs
    next. Needs a superuser or pg_checkpoint; without, the phase runs as it finds things."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as exc:
        print(f"  (no CHECKPOINT before the phase: {exc})")


def wal_position() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def baseline_row(e: dict, received: datetime.datetime) -> tuple:
    """An event as the events table's columns (COLUMNS), as the baselines write it."""
    properties, context = orjson.dumps(e["properties"]), orjson.dumps(e["context"])
    return (e["message_id"], e["event"], e["distinct_id"], None, e["timestamp"], received,
            properties.decode(), context.decode(), None)  # fmt: skip


@contextlib.contextmanager
def scratch_table(name: str):
    """A table shaped like the events table, without its indexes, for as long as needed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(
            f"CREATE TABLE {name} (LIKE analytics_event INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {name}")


def copy_baseline(events: list[dict]) -> float:
    """COPY the same rows into a scratch table shaped like the events table; return seconds."""
    from django.db import connection

    received = datetime.datetime.now(datetime.UTC)
    rows = [baseline_row(e, received) for e in events]
    with scratch_table("bench_copy") as table, connection.cursor() as cursor:
        started = time.perf_counter()
        with cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - started


def insert_baseline(db_url: str, events: list[dict], connections: int, seconds=10.0) -> float:
    """INSERT the rows one at a time, a transaction each, over `connections` connections
    for `seconds`, into a copy of the events table without its indexes; return rows/s.
    psycopg waits without the GIL, so the threads overlap their round trips as the server's
    do."""
    import psycopg

    sql = f"INSERT INTO bench_insert ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    counts, failures = [0] * connections, []

    def worker(n: int):
        try:
            insert(n)
        except Exception as exc:
            failures.append(exc)

    def insert(n: int):
        rows = iter(events[n::connections])
        with psycopg.connect(db_url, autocommit=True) as conn:
            while time.perf_counter() < started + seconds:
                conn.execute(sql, baseline_row(next(rows), datetime.datetime.now(datetime.UTC)))
                counts[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    with scratch_table("bench_insert"):
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise SystemExit(f"the INSERT baseline failed: {failures[0]!r}")
    return sum(counts) / seconds


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"event":"$pageview","distinct_id":"d%%d","message_id":"%s-%%d-%%d",'
    .. '"properties":{"path":"/shows/1/"},"context":{"user_agent":"Mozilla/5.0 Firefox/128.0"}}',
    counter, counter, math.random(1, 1000000000))
  return wrk.format(nil, "/api/analytics/events", nil, body)
end
"""


def single_events(port: int, secret: str) -> str:
    if not shutil.which("wrk"):
        return "(wrk is not installed: apt-get install wrk)"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (secret, uuid.uuid4().hex))
    result = subprocess.run(
        ["wrk", "-t2", "-c16", "-d15s", "--latency", "-s", script.name, f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1)
    # The latency distribution's lines, not a "+/- Stdev" column that ends in "50.00%".
    p50 = re.search(r"^\s+50%\s+(\S+)", result.stdout, re.MULTILINE).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", result.stdout, re.MULTILINE).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    failed = f", {errors.group(1)} failed" if errors else ""
    return f"{float(rate):8.0f} requests/s   p50 {p50:>7}   p99 {p99:>7}{failed}"


def main():
    db_url = bench_database_url()
    setup_django(db_url)
    from django.db import connection

    from analytics.lifecycle.partitions import event_partitions_ensure
    from analytics.services import ingest_key_create

    with connection.cursor() as cursor:  # every run starts from the same, empty, tables
        cursor.execute("TRUNCATE analytics_event, analytics_eventmessagekey, analytics_rollupdirty")
    now = datetime.datetime.now(datetime.UTC)
    event_partitions_ensure(today=now.date(), months_ahead=1)
    _, secret = ingest_key_create(name=f"bench-{uuid.uuid4().hex[:8]}")
    rng = random.Random(7)
    events = [make_event(rng, n, now) for n in range(EVENTS)]
    bodies = [orjson.dumps({"batch": events[i : i + BATCH]}) for i in range(0, EVENTS, BATCH)]
    event_bytes = sum(len(body) for body in bodies) / EVENTS

    # Rounds of the API and of COPY in turn, each after a checkpoint: this machine's disk
    # stalls for seconds now and then, and the medians keep one stall from deciding a run.
    rounds = [bodies[5:][k::ROUNDS] for k in range(ROUNDS)]
    api_rates, copy_rates, wal_bytes = [], [], 0
    port = free_port()
    server = start_server("granian", port, db_url, workers=WORKERS, threads=THREADS, **SERVER_ENV)
    try:
        post_batches(port, secret, bodies[:5])  # warm up; those ids are then duplicates
        for round_bodies in rounds:
            checkpoint()
            wal_before = wal_position()
            api_rates.append(len(round_bodies) * BATCH / post_batches(port, secret, round_bodies))
            wal_bytes += wal_position() - wal_before
            checkpoint()
            rows = [event for body in round_bodies for event in orjson.loads(body)["batch"]]
            copy_rates.append(len(rows) / copy_baseline(rows))
        single = single_events(port, secret)
    finally:
        stop(server)
    # The same requests on the production server of earlier releases, for comparison.
    port = free_port()
    server = start_server("gunicorn", port, db_url, workers=WORKERS, threads=THREADS, **SERVER_ENV)
    try:
        single_gunicorn = single_events(port, secret)
    finally:
        stop(server)
    insert_rate = insert_baseline(db_url, events, connections=WORKERS * THREADS)
    sent = EVENTS - 5 * BATCH
    api_rate, copy_rate = statistics.median(api_rates), statistics.median(copy_rates)

    def spread(rates):
        return f"(rounds {', '.join(f'{rate:.0f}' for rate in rates)})"

    ratios = ", ".join(f"{a / c:.2f}" for a, c in zip(api_rates, copy_rates, strict=True))
    print(f"\nbench-ingest on {os.cpu_count()} cores: {sent} events of ~{event_bytes:.0f} bytes,")
    print(f"  in {ROUNDS} rounds of each; medians")
    print(
        f"  batch API (granian, {WORKERS} workers x {THREADS} threads, {CONNECTIONS} connections)"
        f" {api_rate:9.0f} events/s  {spread(api_rates)}"
    )
    print(
        f"  PostgreSQL COPY of the same rows (baseline)  {copy_rate:10.0f} events/s"
        f"  {spread(copy_rates)}"
    )
    print(f"  ratio API / COPY                             {api_rate / copy_rate:10.2f}"
          f"  (rounds {ratios})")  # fmt: skip
    print(f"  write-ahead log of the batch API             {wal_bytes / sent:10.0f} bytes/event")
    print("single-event requests (wrk, 16 connections, 15 s each)")
    print(f"  granian, {WORKERS} workers x {THREADS} threads        {single}")
    print(f"  gunicorn, {WORKERS} workers x {THREADS} threads       {single_gunicorn}")
    print(
        f"  PostgreSQL single-row INSERTs, a commit each, {WORKERS * THREADS} connections, no"
        f" indexes (baseline, an upper bound)  {insert_rate:8.0f} rows/s"
    )


if __name__ == "__main__":
    main()

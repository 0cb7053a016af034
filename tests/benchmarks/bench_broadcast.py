"""What a live vote costs: request latency with and without 1,000 listeners on the show.

Uses the Redis channel layer and PostgreSQL (a separate `<db>_bench` database), casts votes
through the HTTP API one at a time and prints, from the same run, for two topologies (daphne
serving everything; gunicorn with two sync workers for HTTP beside daphne for websockets):
- vote request latency with no listeners (the baseline) and with N listeners;
- the time until the last of the N listeners has the new count;
and the cost of one channels-redis group_send to a group of N channels, as called on commit.

    make bench-broadcast            # BENCH_LISTENERS=1000 BENCH_VOTES=200 by default
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
LISTENERS = int(os.environ.get("BENCH_LISTENERS", "1000"))
VOTES = int(os.environ.get("BENCH_VOTES", "200"))


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    redis = os.environ.get("REDIS_URL", "")
    if not url.startswith("postgres") or not redis:
        sys.exit("bench-broadcast needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + "_bench"))


def prepare(db_url: str) -> tuple[int, int, str]:
    """Create the bench database if needed, migrate it, and make a show, a song and a token."""
    import psycopg

    parts = urlsplit(db_url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysetlist.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from mysetlist.setlists.models import Artist, Show, Song
    from mysetlist.users.models import User

    call_command("migrate", verbosity=0)
    stamp = str(time.time_ns())
    artist = Artist.objects.create(name=f"Bench {stamp}", slug=f"bench-{stamp}")
    show = Show.objects.create(artist=artist, date="2099-01-01", status=Show.Status.VOTING_OPEN)
    song = Song.objects.create(artist=artist, title="Bench Song")
    user = User.objects.create(username=f"bench{stamp}", email=f"bench{stamp}@example.com")
    return show.pk, song.pk, Token.objects.create(user=user).key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, port: int, db_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "mysetlist.settings.local",
        "DJANGO_DEBUG": "false",
        "THROTTLE_VOTES": "1000000/min",
        "THROTTLE_USER": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    command = {
        "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                   "mysetlist.asgi:application"],
        "gunicorn": ["-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                     "mysetlist.wsgi:application"],
    }[kind]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit(f"{kind} did not start")


def cast(port: int, token: str, show: int, song: int, value: int) -> float:
    body = json.dumps({"show": show, "song": song, "value": value}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/votes/cast/",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def percentiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {statistics.median(values):7.1f} ms   p99 {cuts[98]:7.1f} ms"


async def listen_and_vote(http, ws, token, show, song) -> tuple[list[float], list[float]]:
    import websockets

    url = f"ws://127.0.0.1:{ws}/ws/shows/{show}/"
    sockets = []
    for start in range(0, LISTENERS, 100):
        sockets += await asyncio.gather(
            *(
                websockets.connect(url, origin="http://127.0.0.1", max_queue=None)
                for _ in range(min(100, LISTENERS - start))
            )
        )
    latencies, fanouts = [], []
    for n in range(VOTES // 2):
        sent = time.perf_counter()
        latency = asyncio.create_task(
            asyncio.to_thread(cast, http, token, show, song, 1 - 2 * (n % 2))
        )
        await asyncio.gather(*(ws.recv() for ws in sockets))
        fanouts.append((time.perf_counter() - sent) * 1000)
        latencies.append(await latency)
    await asyncio.gather(*(ws.close() for ws in sockets))
    return latencies, fanouts


def group_send_cost(members: int) -> list[float]:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    group = f"bench-{time.time_ns()}"

    async def fill():
        for _ in range(members):
            await layer.group_add(group, await layer.new_channel())

    async def send_many():
        timings = []
        for _ in range(50):
            started = time.perf_counter()
            await layer.group_send(group, {"type": "votes.changed", "payload": {"n": 1}})
            timings.append((time.perf_counter() - started) * 1000)
        await layer.flush()
        return timings

    async_to_sync(fill)()
    return async_to_sync(send_many)()


def run_topology(kind: str, db_url: str, show: int, song: int, token: str):
    """Return vote latencies without listeners, with listeners, and fan-out times."""
    ws_port = free_port()
    servers = [start_server("daphne", ws_port, db_url)]
    http_port = ws_port
    if kind == "split":
        http_port = free_port()
        servers.append(start_server("gunicorn", http_port, db_url))
    try:
        for n in range(20):  # warm up connections and code paths
            cast(http_port, token, show, song, 1 - 2 * (n % 2))
        baseline = [cast(http_port, token, show, song, 1 - 2 * (n % 2)) for n in range(VOTES)]
        latencies, fanouts = asyncio.run(listen_and_vote(http_port, ws_port, token, show, song))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    return baseline, latencies, fanouts


def main():
    db_url = bench_database_url()
    show, song, token = prepare(db_url)
    results = {kind: run_topology(kind, db_url, show, song, token) for kind in ("daphne", "split")}
    send_empty, send_full = group_send_cost(0), group_send_cost(LISTENERS)

    print(
        f"\nbench-broadcast on {os.cpu_count()} cores, channels-redis + PostgreSQL, "
        "one vote at a time"
    )
    for kind, label in (("daphne", "daphne for all"), ("split", "gunicorn -w 2 + daphne")):
        baseline, latencies, fanouts = results[kind]
        ratio = statistics.median(latencies) / statistics.median(baseline)
        print(f"[{label}]")
        print(f"  vote request, no listeners (baseline)  {percentiles(baseline)}")
        print(
            f"  vote request, {LISTENERS} listeners       {percentiles(latencies)}"
            f"   {ratio:.1f}x baseline p50"
        )
        print(f"  last of {LISTENERS} listeners has it      {percentiles(fanouts)}")
    print("[channel layer]")
    print(f"  group_send, empty group (baseline)     {percentiles(send_empty)}")
    print(f"  group_send, {LISTENERS} channels in group   {percentiles(send_full)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

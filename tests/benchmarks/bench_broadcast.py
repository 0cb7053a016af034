"""What a live vote costs: request latency with and without 1,000 listeners on the show.

Uses the Redis channel layer and PostgreSQL (a separate `<db>_bench` database), casts votes
through the HTTP API one at a time and prints, from the same run, for two topologies (daphne
serving everything; granian with two workers for HTTP beside daphne for websockets):
- vote request latency with no listeners (the baseline) and with N listeners;
- the time until the last of the N listeners has the new count;
and the cost of one channels-redis group_send to a group of N channels, as called on commit.

    make bench-broadcast            # BENCH_LISTENERS=1000 BENCH_VOTES=200 by default
"""

import asyncio
import json
import os
import statistics
import time
import urllib.request

from common import (
    bench_database_url,
    free_port,
    percentiles,
    setup_django,
    start_server,
    stop,
)

LISTENERS = int(os.environ.get("BENCH_LISTENERS", "1000"))
VOTES = int(os.environ.get("BENCH_VOTES", "200"))
SERVER_ENV = {"THROTTLE_VOTES": "1000000/min", "THROTTLE_USER": "1000000/min"}


def prepare(db_url: str) -> tuple[int, int, str]:
    """Make a show open for voting, a song and a user's API token in the bench database."""
    setup_django(db_url)
    from rest_framework.authtoken.models import Token

    from mysetlist.setlists.models import Artist, Show, Song
    from mysetlist.users.models import User

    stamp = str(time.time_ns())
    artist = Artist.objects.create(name=f"Bench {stamp}", slug=f"bench-{stamp}")
    show = Show.objects.create(artist=artist, date="2099-01-01", status=Show.Status.VOTING_OPEN)
    song = Song.objects.create(artist=artist, title="Bench Song")
    user = User.objects.create(username=f"bench{stamp}", email=f"bench{stamp}@example.com")
    return show.pk, song.pk, Token.objects.create(user=user).key


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
    servers = [start_server("daphne", ws_port, db_url, **SERVER_ENV)]
    http_port = ws_port
    if kind == "split":
        http_port = free_port()
        servers.append(start_server("granian", http_port, db_url, threads=2, **SERVER_ENV))
    try:
        for n in range(20):  # warm up connections and code paths
            cast(http_port, token, show, song, 1 - 2 * (n % 2))
        baseline = [cast(http_port, token, show, song, 1 - 2 * (n % 2)) for n in range(VOTES)]
        latencies, fanouts = asyncio.run(listen_and_vote(http_port, ws_port, token, show, song))
    finally:
        stop(*servers)
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
    for kind, label in (
        ("daphne", "daphne for all"),
        ("split", "granian, 2 workers x 2 threads + daphne"),
    ):
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
    main()

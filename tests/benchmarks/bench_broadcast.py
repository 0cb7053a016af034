"""Live counts to many listeners, beside a bare websocket server on the same machine.

Uses PostgreSQL (a separate `<db>_bench` database) and Redis (databases 7 and 8, see
common.redis_database_url): daphne serves the websockets (one process or two), granian the
votes' HTTP where said. Listeners are `websockets` clients in their own processes; times
across processes are CLOCK_MONOTONIC (perf_counter). Printed, from the same run:

1. fan-out, BENCH_LISTENERS (1,000) listeners on one show, one vote at a time (BENCH_GAP,
   a quarter second, apart): vote committed (vote_cast called in this process) -> last
   listener has its version; the HTTP vote sent -> last listener; beside a bare `websockets`
   server broadcasting one prepared frame to as many clients (control message sent -> last
   client has it);
2. load: what the machine takes (a closed loop of 16 votes in flight, no listeners), then
   one show taking BENCH_RATE (1,000) votes/s for BENCH_SECONDS (5) from many users, and again
   at each BENCH_SHARES (35 % and 70 %) of what the machine took, for BENCH_SUSTAIN_SECONDS
   (20: a p99 of over a thousand votes, not of a few hundred), open loop, each without
   listeners and then with BENCH_LISTENERS: vote request latency, achieved rate, and whether
   every listener converged to the exact stored counts. Those listeners run at niceness 19:
   they stand for fans' phones, which do not share the servers' cores, so they only take what
   is left;
3. scale-out: BENCH_SHOWS (100) shows x BENCH_PER_SHOW (100) listeners on one daphne process,
   then on two: a new tally of every show published at once (as votes committed by many
   web processes would be), published -> the last of all listeners has it; beside the bare
   server sending one frame per show to as many clients.

    make bench-broadcast      # BENCH_LISTENERS=200 BENCH_SHOWS=10 ... for a quick run,
                              # BENCH_PARTS=3 for the third part alone
"""

import asyncio
import json
import multiprocessing
import os
import sys
import time

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

LISTENERS = int(os.environ.get("BENCH_LISTENERS", "1000"))
VOTES = int(os.environ.get("BENCH_VOTES", "100"))
RATE = int(os.environ.get("BENCH_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
SUSTAIN_SECONDS = float(os.environ.get("BENCH_SUSTAIN_SECONDS", "20"))
# Shares of the closed loop's rate sustained in part 2: how the listeners' cost to the votes
# grows as the machine fills.
SHARES = [float(share) for share in os.environ.get("BENCH_SHARES", "0.35,0.7").split(",")]
LOAD_SHOWS = 1 + 2 * (1 + len(SHARES))  # part 2's: the closed loop's, then two per load
SHOWS = int(os.environ.get("BENCH_SHOWS", "100"))
PER_SHOW = int(os.environ.get("BENCH_PER_SHOW", "100"))
BURSTS = int(os.environ.get("BENCH_BURSTS", "10"))
# Part 1's votes come one at a time, this far apart: a quiet show. A show kept busy paces
# its frames (LIVE_SEND_SHARE), which is part 2's load.
GAP = float(os.environ.get("BENCH_GAP", "0.25"))
PARTS = os.environ.get("BENCH_PARTS", "1,2,3").split(",")  # which of the three to run
CLIENT_PROCESSES = 2  # listener processes, so that no one client loop is the limit
# The web servers keep their database connections, as in production (see the README).
SERVER_ENV = {"THROTTLE_VOTES": "100000000/min", "THROTTLE_USER": "100000000/min",
              "DATABASE_CONN_MAX_AGE": "60"}  # fmt: skip
ORIGIN = "http://127.0.0.1"


# Listener processes: each holds its share of the sockets and answers the bench over a pipe.


async def _listener_loop(conn) -> None:
    import websockets

    loop = asyncio.get_running_loop()
    sockets: list = []  # (show id, connection)
    counts: list[dict] = []  # per socket: song -> (up, down, version)
    watch: dict[int, tuple[int, int]] = {}  # show -> (song, version) awaited
    reached: list[float | None] = []
    readers = []
    retried = 0

    async def read(index: int, show: int, socket) -> None:
        async for raw in socket:
            frame = json.loads(raw)
            if frame["type"] != "tallies":
                continue
            mine = counts[index]
            for tally in frame["tallies"]:
                current = mine.get(tally["song_id"])
                if current is None or tally["version"] >= current[2]:
                    mine[tally["song_id"]] = (
                        tally["upvotes"],
                        tally["downvotes"],
                        tally["version"],
                    )
            wanted = watch.get(show)
            if wanted and reached[index] is None:
                got = mine.get(wanted[0])
                if got and got[2] >= wanted[1]:
                    reached[index] = time.perf_counter()

    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        if command == "connect":
            # In batches; a handshake a busy server dropped is tried again (and counted).
            for start in range(0, len(argument), 100):
                batch, tries = argument[start : start + 100], 0
                while batch:
                    opened = await asyncio.gather(
                        *(
                            websockets.connect(
                                url, origin=ORIGIN, max_queue=None, ping_interval=None
                            )
                            for url, _ in batch
                        ),
                        return_exceptions=True,
                    )
                    failed, error = [], None
                    for (url, show), socket in zip(batch, opened, strict=True):
                        if isinstance(socket, Exception):
                            failed.append((url, show))
                            error = socket
                            continue
                        sockets.append((show, socket))
                        counts.append({})
                        reached.append(None)
                        readers.append(asyncio.ensure_future(read(len(sockets) - 1, show, socket)))
                    batch, tries, retried = failed, tries + 1, retried + len(failed)
                    if batch and tries > 5:
                        raise RuntimeError(f"{len(batch)} sockets could not connect: {error!r}")
                    if batch:
                        await asyncio.sleep(0.5)
            conn.send(retried)
        elif command == "watch":
            watch = argument
            reached[:] = [None] * len(sockets)
            conn.send(True)
        elif command == "collect":  # wait for every watched socket; last time per show
            deadline = time.perf_counter() + 30
            watched = [i for i, (show, _) in enumerate(sockets) if show in watch]
            while any(reached[i] is None for i in watched) and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            last: dict[int, float] = {}
            for i in watched:
                show = sockets[i][0]
                last[show] = max(last.get(show, 0.0), reached[i] or float("inf"))
            conn.send(last)
        elif command == "counts":
            conn.send([(show, counts[i]) for i, (show, _) in enumerate(sockets)])
        elif command == "close":
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*(s.close() for _, s in sockets), return_exceptions=True)
            conn.send(True)
            return


def _listener_main(conn, nice: int) -> None:
    if nice:
        os.nice(nice)
    asyncio.run(_listener_loop(conn))


class Listeners:
    """Sockets spread over CLIENT_PROCESSES processes, at the given niceness (19: they take
    only the CPU that the servers and the load leave; fans' phones are not on the server)."""

    def __init__(self, nice: int = 0):
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(CLIENT_PROCESSES):
            parent, child = context.Pipe()
            process = context.Process(target=_listener_main, args=(child, nice), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def _all(self, command, arguments):
        for pipe, argument in zip(self.pipes, arguments, strict=True):
            pipe.send((command, argument))
        return [pipe.recv() for pipe in self.pipes]

    def connect(self, targets: list[tuple[str, int]]) -> None:
        shares = [targets[n :: len(self.pipes)] for n in range(len(self.pipes))]
        retried = sum(self._all("connect", shares))
        if retried:
            print(f"  ({retried} handshakes dropped by a busy server and tried again)", flush=True)

    def watch(self, wanted: dict) -> None:
        self._all("watch", [wanted] * len(self.pipes))

    def collect_by_show(self, label: str) -> dict[int, float]:
        """Return when the last watched listener of each show had its version (never: inf)."""
        last: dict[int, float] = {}
        for part in self._all("collect", [None] * len(self.pipes)):
            for show, at in part.items():
                last[show] = max(last.get(show, 0.0), at)
        missing = sum(at == float("inf") for at in last.values())
        if missing:
            print(f"  !! {label}: listeners of {missing} shows never had the version", flush=True)
        return last

    def collect(self, label: str) -> float:
        """Return when the last watched listener had its version (never: inf)."""
        return max(self.collect_by_show(label).values())

    def counts(self) -> list[tuple[int, dict]]:
        return [item for part in self._all("counts", [None] * len(self.pipes)) for item in part]

    def close(self) -> None:
        self._all("close", [None] * len(self.pipes))
        for process in self.processes:
            process.join(timeout=10)


# A bare websocket server: the machine's limit for sending one frame to every client.

BARE_SERVER = """
import asyncio, sys, websockets
clients = set()
async def handler(ws):
    if ws.request.path == "/control":
        async for message in ws:  # "show:song:version": every client of the show gets a frame
            show, song, version = message.split(":")
            frame = ('{"type":"tallies","show_id":%s,"tallies":[{"song_id":%s,"upvotes":1,'
                     '"downvotes":0,"score":1,"version":%s}]}' % (show, song, version))
            websockets.broadcast([c for c, s in clients if s == show], frame)
        return
    me = (ws, ws.request.path.strip("/").split("/")[-1])
    clients.add(me)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(me)
async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), max_queue=None,
                                ping_interval=None):
        await asyncio.Future()
asyncio.run(main())
"""


def start_bare(port: int):
    import subprocess

    process = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)], cwd=ROOT)
    time.sleep(1.5)
    return process


def bare_fanout(listeners: Listeners, port: int, shows: list[int], rounds: int) -> list[float]:
    """Send one frame per show through the bare server; time until the last client has it."""
    from websockets.sync.client import connect

    timings = []
    with connect(f"ws://127.0.0.1:{port}/control") as control:
        for version in range(1, rounds + 1):
            listeners.watch({show: (1, version) for show in shows})
            started = time.perf_counter()
            for show in shows:
                control.send(f"{show}:1:{version}")
            timings.append((listeners.collect("bare") - started) * 1000)
    return timings


# The application.


def prepare(shows: int, songs: int, users: int):
    """Make shows open for voting, their songs and users with API tokens."""
    from rest_framework.authtoken.models import Token

    from mysetlist.setlists.models import Artist, Show, Song
    from mysetlist.users.models import User

    stamp = str(time.time_ns())
    artist = Artist.objects.create(name=f"Bench {stamp}", slug=f"bench-{stamp}")
    show_ids = [
        s.pk
        for s in Show.objects.bulk_create(
            [
                Show(artist=artist, date="2099-01-01", status=Show.Status.VOTING_OPEN)
                for _ in range(shows)
            ]
        )
    ]
    song_ids = [
        s.pk
        for s in Song.objects.bulk_create(
            [Song(artist=artist, title=f"Bench Song {n}") for n in range(songs)]
        )
    ]
    people = User.objects.bulk_create(
        [User(username=f"b{stamp}-{n}", email=f"b{stamp}-{n}@example.com") for n in range(users)]
    )
    tokens = [
        t.key
        for t in Token.objects.bulk_create(
            [Token(user=u, key=Token.generate_key()) for u in people]
        )
    ]
    return show_ids, song_ids, people, tokens


def tally_version(show: int, song: int) -> int:
    from mysetlist.setlists.models import VoteTally

    found = VoteTally.objects.filter(show_id=show, song_id=song).values_list("version", flat=True)
    return next(iter(found), 0)


def cast_direct(user, show: int, song: int, value: int) -> float:
    """Cast a vote in this process; return when it committed (before it is published)."""
    from django.db import transaction

    from mysetlist.setlists.services import vote_cast

    committed: list[float] = []
    with transaction.atomic():
        # The first callback after the commit: vote_cast's publish is registered after it.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        vote_cast(user=user, show_id=show, song_id=song, value=value)
    return committed[0]


def cast_http(port: int, token: str, show: int, song: int, value: int) -> float:
    import urllib.request

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


def fanout_one_show(listeners, show, song, user, token, http_port) -> tuple[list, list]:
    """One vote at a time: committed -> last listener, and HTTP sent -> last listener."""
    committed, over_http = [], []
    for n in range(VOTES):
        time.sleep(GAP)
        version = tally_version(show, song) + 1
        listeners.watch({show: (song, version)})
        if n % 2 == 0:
            # The same fan's vote, turned down (over HTTP) and up (here) again.
            done = cast_direct(user, show, song, 1)
            committed.append((listeners.collect("committed") - done) * 1000)
        else:
            started = time.perf_counter()
            cast_http(http_port, token, show, song, -1)
            over_http.append((listeners.collect("http") - started) * 1000)
    return committed, over_http


async def _load(
    port: int, tokens: list[str], show: int, songs: list[int], rate: int, seconds: float
) -> tuple[list, float]:
    """Open loop: vote k is sent at k / rate s, each (user, song) once, for `seconds`. Return
    the latencies and the achieved rate."""
    import aiohttp

    total = int(rate * seconds)
    pairs = [(t, s) for t in tokens for s in songs][:total]
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(k: int, token: str, song: int):
            nonlocal errors
            await asyncio.sleep(max(0.0, begun + k / rate - time.perf_counter()))
            sent = time.perf_counter()
            async with session.post(
                f"http://127.0.0.1:{port}/api/votes/cast/",
                json={"show": show, "song": song, "value": 1 if k % 3 else -1},
                headers={"Authorization": f"Token {token}"},
            ) as response:
                await response.read()
                if response.status >= 300:
                    errors += 1
            latencies.append((time.perf_counter() - sent) * 1000)

        begun = time.perf_counter()
        await asyncio.gather(*(one(k, t, s) for k, (t, s) in enumerate(pairs)))
        elapsed = time.perf_counter() - begun
    if errors:
        print(f"  !! {errors} votes answered with an error", flush=True)
    return latencies, len(pairs) / elapsed


async def _capacity(port: int, tokens: list[str], show: int | None, songs: list[int]) -> float:
    """Closed loop, 16 requests in flight for 3 s after a second's warm-up: requests/s taken.
    Votes on `show`, or with show None the cheapest signed-in API request there is (the
    unread count: middleware, token, throttles and one indexed count), as the ceiling of
    any API request on this machine."""
    import aiohttp

    pairs = iter([(t, s) for t in tokens for s in songs] * (1 if show else 100))
    counted, started = 0, time.perf_counter()
    ends = started + 4

    async def worker(session):
        nonlocal counted
        for token, song in pairs:
            if time.perf_counter() > ends:
                return
            headers = {"Authorization": f"Token {token}"}
            if show is None:
                request = session.get(
                    f"http://127.0.0.1:{port}/api/notifications/unread-count/", headers=headers
                )
            else:
                request = session.post(
                    f"http://127.0.0.1:{port}/api/votes/cast/",
                    json={"show": show, "song": song, "value": 1},
                    headers=headers,
                )
            async with request as response:
                await response.read()
                if response.status >= 300:
                    raise RuntimeError(f"capacity request answered {response.status}")
            if time.perf_counter() - started > 1:
                counted += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
        await asyncio.gather(*(worker(session) for _ in range(16)))
    return counted / (time.perf_counter() - started - 1)


def stored_counts(show: int) -> dict:
    from mysetlist.setlists.models import VoteTally

    return {
        song: (up, down, version)
        for song, up, down, version in VoteTally.objects.filter(show_id=show).values_list(
            "song_id", "upvotes", "downvotes", "version"
        )
    }


def converged(listeners: Listeners, show: int) -> tuple[int, int, float]:
    """Wait until every listener has the stored counts (up to 30 s); return how many did,
    of how many, and after how long."""
    stored, started = stored_counts(show), time.perf_counter()
    while True:
        mine = [c for s, c in listeners.counts() if s == show]
        good = sum(c == stored for c in mine)
        if good == len(mine) or time.perf_counter() - started > 30:
            return good, len(mine), (time.perf_counter() - started) * 1000
        time.sleep(0.2)


def main():
    db_url = bench_database_url()
    # The bench's own Redis databases: 7 for the servers' channel layer, live feed and
    # presence (this process publishes there too), 8 for their Celery broker.
    redis_url = redis_database_url(7)
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_database_url(8)
    setup_django(db_url)
    env = {**SERVER_ENV, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_database_url(8)}

    # Enough (user, song) pairs for any one load: a 2-core machine takes about 200 votes/s.
    votes = max(RATE * SECONDS, 300 * max(SHARES) * SUSTAIN_SECONDS)
    shows, songs, users, tokens = prepare(1 + LOAD_SHOWS + SHOWS, 20, int(votes) // 20 + 1)
    results: dict = {"load_before": os.getloadavg()[0]}
    try:
        measure(results, db_url, env, shows, songs, users, tokens)
    finally:
        report(results)


def measure(results, db_url, env, shows, songs, users, tokens) -> None:
    fan_show, load_shows = shows[0], shows[1 : 1 + LOAD_SHOWS]
    many = shows[1 + LOAD_SHOWS :]
    bare_port = free_port()
    if {"1", "2"} & set(PARTS):
        one_and_two(results, db_url, env, bare_port, fan_show, load_shows, songs, users, tokens)
    if "3" in PARTS:
        three(results, db_url, env, bare_port, many, songs[0])


def one_and_two(results, db_url, env, bare_port, fan_show, load_shows, songs, users, tokens):
    song = songs[0]
    # 1. One show, LISTENERS listeners, one vote at a time.
    if "1" in PARTS:
        bare = start_bare(bare_port)
        listeners = Listeners()
        try:
            listeners.connect([(f"ws://127.0.0.1:{bare_port}/ws/{fan_show}", fan_show)] * LISTENERS)
            results["bare"] = bare_fanout(listeners, bare_port, [fan_show], VOTES)
        finally:
            listeners.close()
            stop(bare)

    ws_port, http_port = free_port(), free_port()
    servers = [
        start_server("daphne", ws_port, db_url, **env),
        start_server("granian", http_port, db_url, threads=2, **env),
    ]
    try:
        for _ in range(10):  # warm up the HTTP server's connections and code paths
            cast_http(http_port, tokens[1], fan_show, song, 1)
        if "1" in PARTS:
            listeners = Listeners()
            try:
                listeners.connect(
                    [(f"ws://127.0.0.1:{ws_port}/ws/shows/{fan_show}/", fan_show)] * LISTENERS
                )
                time.sleep(2)  # the sockets' first frames and presence settle
                results["committed"], results["http"] = fanout_one_show(
                    listeners, fan_show, song, users[0], tokens[0], http_port
                )
            finally:
                listeners.close()
        if "2" in PARTS:
            two(results, ws_port, http_port, load_shows, songs, tokens)
    finally:
        stop(*servers)


def two(results, ws_port, http_port, load_shows, songs, tokens):
    """Votes on one show at RATE, and at each of SHARES of what the machine took in a closed
    loop, each without listeners and then with LISTENERS on the show (niced: see Listeners)."""
    capacity_show, *shows = load_shows
    results["ceiling"] = asyncio.run(_capacity(http_port, tokens, None, songs))
    results["capacity"] = asyncio.run(_capacity(http_port, tokens, capacity_show, songs))
    loads = [(RATE, SECONDS)]
    loads += [(max(1, int(results["capacity"] * share)), SUSTAIN_SECONDS) for share in SHARES]
    pairs = zip(shows[0::2], shows[1::2], strict=True)
    for (rate, seconds), (base_show, load_show) in zip(loads, pairs, strict=True):
        base = asyncio.run(_load(http_port, tokens, base_show, songs, rate, seconds))
        listeners = Listeners(nice=19)
        try:
            listeners.connect(
                [(f"ws://127.0.0.1:{ws_port}/ws/shows/{load_show}/", load_show)] * LISTENERS
            )
            time.sleep(2)
            loaded = asyncio.run(_load(http_port, tokens, load_show, songs, rate, seconds))
            results.setdefault("loads", []).append(
                (rate, seconds, base, loaded, converged(listeners, load_show))
            )
        finally:
            listeners.close()


def three(results, db_url, env, bare_port, many, song):
    """SHOWS x PER_SHOW listeners: bare server, one daphne, two daphnes; every show's new
    tally published at once, as votes committed by many web processes would be."""
    targets = [show for show in many for _ in range(PER_SHOW)]
    bare = start_bare(bare_port)
    listeners = Listeners()
    try:
        listeners.connect([(f"ws://127.0.0.1:{bare_port}/ws/{s}", s) for s in targets])
        results["bare_many"] = bare_fanout(listeners, bare_port, many, BURSTS)
    finally:
        listeners.close()
        stop(bare)
    version = 10**9  # above any stored tally's: every listener takes it as the newest
    for processes in (1, 2):
        ports = [free_port() for _ in range(processes)]
        servers = [start_server("daphne", port, db_url, **env) for port in ports]
        listeners = Listeners()
        try:
            listeners.connect(
                [
                    (f"ws://127.0.0.1:{ports[n % processes]}/ws/shows/{s}/", s)
                    for n, s in enumerate(targets)
                ]
            )
            time.sleep(3)
            timings = []
            for _ in range(BURSTS):
                version += 1
                listeners.watch({show: (song, version) for show in many})
                started = publish_burst(many, song, version)
                timings.append((listeners.collect("burst") - started) * 1000)
            results[f"burst{processes}"] = timings
        finally:
            listeners.close()
            stop(*servers)


def publish_burst(shows: list[int], song: int, version: int) -> float:
    """Publish a new tally of `song` for every show in one round trip to Redis; return when
    it was sent."""
    from mysetlist.core.live_feed import _sync_client, channel_name
    from mysetlist.setlists.services import LIVE_TOPIC

    pipe = _sync_client().pipeline(transaction=False)
    for show in shows:
        tally = {"show_id": show, "song_id": song, "upvotes": version, "downvotes": 0,
                 "score": version, "version": version}  # fmt: skip
        message = {"kind": "tally", "show_id": show, "tally": tally}
        pipe.publish(channel_name(LIVE_TOPIC), json.dumps(message, separators=(",", ":")))
    started = time.perf_counter()
    pipe.execute()
    return started


def report(results: dict) -> None:
    """Print what was measured (all of it, or as far as the run got)."""
    from mysetlist.core.stats import percentile  # the same p99 as the printed figures

    p99 = lambda values: percentile(values, 0.99)  # noqa: E731
    lines = [
        f"\nbench-broadcast on {os.cpu_count()} cores (1-minute load average "
        f"{results.get('load_before', 0):.1f} before the run, {os.getloadavg()[0]:.1f} at "
        "its end), daphne + Redis pub/sub + PostgreSQL",
        f"[1. one show, {LISTENERS} listeners, {VOTES} votes one at a time, {GAP:g} s apart]",
        ("bare", "  bare websockets server, frame -> last client (baseline) {}"),
        ("committed", "  vote committed -> last listener has it   {}"),
        ("http", "  HTTP vote sent -> last listener has it   {}"),
    ]
    for line in lines:
        if isinstance(line, str):
            print(line)
        elif line[0] in results:
            print(line[1].format(percentiles(results[line[0]])))
    print("[2. one show taking votes over HTTP, granian 2x2 + daphne]")
    if "capacity" in results:
        print(
            "  closed loop, 16 in flight, no listeners: the cheapest signed-in API request "
            f"{results['ceiling']:.0f}/s (ceiling), votes {results['capacity']:.0f}/s"
        )
    for rate, seconds, (base_lat, base_rate), (lat, achieved), (good, total, after) in results.get(
        "loads", []
    ):
        share = rate / results["capacity"]
        print(f"  {rate} votes/s offered for {seconds:.0f} s ({share:.0%} of the closed loop's):")
        print(
            f"    vote request, no listeners (baseline)  {percentiles(base_lat)}  "
            f"{base_rate:.0f} votes/s achieved"
        )
        print(
            f"    vote request, {LISTENERS} listeners        {percentiles(lat)}  "
            f"{achieved:.0f} votes/s achieved  p99 {p99(lat) / p99(base_lat):.2f}x baseline"
        )
        print(
            f"    listeners with the exact stored counts: {good} of {total} "
            f"({after:.0f} ms after the last answer)"
        )
    print(f"[3. {SHOWS} shows x {PER_SHOW} listeners, a new tally on every show at once]")
    for key, label in (
        ("bare_many", f"  bare server, {SHOWS} frames -> last client (baseline)  {{}}"),
        ("burst1", "  1 daphne: published -> last of all listeners         {}"),
        ("burst2", "  2 daphnes: published -> last of all listeners        {}"),
    ):
        if key in results:
            print(label.format(percentiles(results[key])))


if __name__ == "__main__":
    main()

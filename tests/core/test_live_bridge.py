"""Live pages under `make run`'s embedded setup (no Redis): a notification delivered by the
Celery worker and a vote cast in another process reach websockets that daphne holds, each in
a process of its own, as `make run` starts them."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from django.core import signing

from mysetlist.core.live_bridge import MAX_BODY, RelayedChannelLayer

pytestmark = pytest.mark.slow
SALT = "mysetlist.live-bridge"

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

SETUP = """
import json
from django.test import Client
from mysetlist.setlists.services import follow_create
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory
fan = UserFactory()
show = ShowFactory()
song = SongFactory(artist=show.artist)
follow_create(user=fan, artist_id=show.artist_id)
client = Client()
client.force_login(fan)
print(json.dumps({"fan": fan.pk, "show": show.pk, "song": song.pk,
                  "session": client.cookies["sessionid"].value}))
"""

# Opening voting tells the show's followers (the worker fans out and delivers in-app); then
# the fan votes. Both from this process, neither the web server nor the worker.
OPEN_AND_VOTE = """
from mysetlist.setlists.models import Show
from mysetlist.setlists.services import show_transition, vote_cast
from mysetlist.users.models import User
show = Show.objects.get(pk={show})
show_transition(show=show, status=Show.Status.VOTING_OPEN)
vote_cast(user=User.objects.get(pk={fan}), show_id=show.pk, song_id={song}, value=1)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """daphne and a Celery worker as `make run` starts them, on a fresh SQLite database."""
    base = tmp_path_factory.mktemp("embedded")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER"}
    } | {
        "DJANGO_SETTINGS_MODULE": "tests.core.embedded_settings",
        "SQLITE_PATH": str(base / "db.sqlite3"),
        "EMBEDDED_QUEUE_DIR": str(base / "queue"),
        "CHANNELS_RELAY_SOCKET": str(base / "live.sock"),
    }
    manage(env, "migrate", "--noinput", "-v0")
    port = free_port()
    processes = [
        subprocess.Popen(
            [BIN / "daphne", "-b", "127.0.0.1", "-p", str(port),
             "-e", f"unix:{base / 'live.sock'}:mode=600", "mysetlist.asgi:application"],
            cwd=ROOT, env=env,
        ),
        subprocess.Popen(
            [BIN / "celery", "-A", "mysetlist", "worker", "--pool", "solo", "-Q", "celery",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=env,
        ),
    ]  # fmt: skip
    try:
        wait_for(lambda: listening(port) and (base / "live.sock").exists(), 30, "daphne")
        yield env, port
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


async def next_frame(socket, frame_type: str, timeout: float = 30, **having) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            if frame["type"] == frame_type and having.items() <= frame.items():
                return frame


async def listen_and_act(env: dict, port: int) -> tuple[dict, dict, dict]:
    made = json.loads(manage(env, "shell", "-c", SETUP).splitlines()[-1])
    server, origin = f"ws://127.0.0.1:{port}", "http://127.0.0.1"
    cookie = {"Cookie": f"sessionid={made['session']}"}
    async with (
        websockets.connect(f"{server}/ws/notifications/inbox/", origin=origin,
                           additional_headers=cookie) as inbox,
        websockets.connect(f"{server}/ws/shows/{made['show']}/", origin=origin) as show,
    ):  # fmt: skip
        await next_frame(inbox, "inbox.count")
        await asyncio.to_thread(manage, env, "shell", "-c", OPEN_AND_VOTE.format(**made))
        status = await next_frame(show, "show.status")
        votes = await next_frame(show, "tallies")
        while not votes["tallies"]:  # a socket's first frame: every tally, none yet
            votes = await next_frame(show, "tallies")
        notification = await next_frame(inbox, "inbox.notification", category="voting_opened")
    return status, votes, notification


def test_live_pages_hear_other_processes_without_redis(embedded):
    env, port = embedded

    status, votes, notification = asyncio.run(listen_and_act(env, port))

    assert status["status"] == "voting_open"
    assert [tally["upvotes"] for tally in votes["tallies"]] == [1]
    assert notification["text"].startswith("Voting opened for")


def relay_status(connection: socket.socket, body: bytes) -> bytes:
    connection.sendall(
        b"POST /_live/group-send HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    return connection.makefile("rb").readline().split()[1]


def test_a_relay_needs_the_signature(embedded):
    env, _ = embedded
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(env["CHANNELS_RELAY_SOCKET"])
        assert relay_status(connection, b'{"group": "inbox.1", "message": {}}') == b"403"


def test_a_relay_is_taken_only_over_the_unix_socket(embedded):
    env, port = embedded
    signed = signing.dumps(
        {"sends": [["inbox.1", {"type": "inbox.count", "unread": 0}]]}, salt=SALT
    )
    with socket.create_connection(("127.0.0.1", port)) as connection:
        # Django's own answer: over TCP the path is just a page that does not exist.
        assert relay_status(connection, signed.encode()) == b"404"
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(env["CHANNELS_RELAY_SOCKET"])
        assert relay_status(connection, signed.encode()) == b"204"


def test_a_relay_larger_than_the_limit_is_refused_unread(embedded):
    env, _ = embedded
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(env["CHANNELS_RELAY_SOCKET"])
        assert relay_status(connection, b"x" * (MAX_BODY + 1)) == b"413"


def test_a_relay_of_another_shape_is_a_400(embedded):
    env, _ = embedded
    signed = signing.dumps({"group": "inbox.1", "message": {}}, salt=SALT)
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(env["CHANNELS_RELAY_SOCKET"])
        assert relay_status(connection, signed.encode()) == b"400"


def test_a_batch_of_group_sends_is_relayed_in_one_request(tmp_path):
    """The outbox publishes a batch's live events together: one request, not one each."""
    path = str(tmp_path / "live.sock")
    requests = []

    async def web_server(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        requests.append(signing.loads((await reader.readexactly(length)).decode(), salt=SALT))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_unix_server(web_server, path)
        async with server:
            layer = RelayedChannelLayer(socket=path)
            sends = [(f"inbox.{n}", {"type": "inbox.count", "unread": n}) for n in range(3)]
            await layer.group_send_many(sends)

    asyncio.run(main())

    assert requests == [
        {"sends": [[f"inbox.{n}", {"type": "inbox.count", "unread": n}] for n in range(3)]}
    ]

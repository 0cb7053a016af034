"""Live counts over real websockets: daphne in other processes, PostgreSQL and Redis (or the
embedded layer), the `websockets` library as the browser."""

import json
import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from asgiref.sync import SyncToAsync
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.conf import settings
from django.db import connections
from websockets.sync.client import connect

from mysetlist.core.broadcast import live_publish
from mysetlist.setlists.models import Show, VoteTally
from mysetlist.setlists.services import LIVE_TOPIC, show_transition, vote_cast
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _fresh_executors_in_child() -> None:
    """A forked server must not wait on the parent's thread for sync code (see e2e)."""
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor = weakref.WeakKeyDictionary()


os.register_at_fork(after_in_child=_fresh_executors_in_child)


def _start_daphne() -> DaphneProcess:
    connections.close_all()
    process = DaphneProcess("127.0.0.1", partial(make_application, static_wrapper=None))
    process.start()
    if not process.ready.wait(timeout=30):
        process.terminate()
        pytest.fail("daphne did not start")
    return process


@pytest.fixture
def servers():
    """Start websocket servers on demand: `servers()` returns one's ws:// base URL. They
    hear this process's votes over Redis (the embedded layer relays to `make run`'s daphne
    only, and the in-memory path is covered by test_consumers)."""
    if not settings.LIVE_REDIS_URL:
        pytest.skip("live tests across processes need REDIS_URL")
    started = []

    def start() -> str:
        process = _start_daphne()
        started.append(process)
        return f"ws://127.0.0.1:{process.port.value}"

    yield start
    for process in started:
        process.terminate()
        process.join(timeout=10)


class Listener:
    """A browser's socket on a show, reading frames as the page would."""

    def __init__(self, base: str, show_id: int):
        self.show_id = show_id
        self.connection = connect(f"{base}/ws/shows/{show_id}/", origin="http://127.0.0.1")
        self.socket = self.connection.__enter__()
        self.frames: list[dict] = []

    def read(self, timeout: float = 5) -> dict:
        frame = json.loads(self.socket.recv(timeout=timeout))
        assert frame["show_id"] == self.show_id
        self.frames.append(frame)
        return frame

    def read_until(self, done, timeout: float = 10) -> dict:
        """Read frames until `done(frame)` is true; return that frame."""
        while True:
            frame = self.read(timeout)
            if done(frame):
                return frame

    def counts(self) -> dict[int, tuple[int, int, int]]:
        """Return each song's (upvotes, downvotes, version), applying every tallies frame
        read so far by the page's rule: a version at least the current one wins."""
        counts: dict[int, tuple[int, int, int]] = {}
        for frame in self.frames:
            for tally in frame.get("tallies", []) if frame["type"] == "tallies" else []:
                current = counts.get(tally["song_id"])
                if current is None or tally["version"] >= current[2]:
                    counts[tally["song_id"]] = (
                        tally["upvotes"],
                        tally["downvotes"],
                        tally["version"],
                    )
        return counts

    def close(self):
        self.connection.__exit__(None, None, None)


def stored_counts(show_id: int) -> dict[int, tuple[int, int, int]]:
    return {
        song: (up, down, version)
        for song, up, down, version in VoteTally.objects.filter(show_id=show_id).values_list(
            "song_id", "upvotes", "downvotes", "version"
        )
    }


def cast_many(show, songs, voters) -> None:
    """Each voter votes on each song at once from 8 threads, as many fans would."""

    def cast(pair):
        voter, song = pair
        vote_cast(user=voter, show_id=show.pk, song_id=song.pk, value=1 if voter.pk % 3 else -1)
        connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(cast, [(voter, song) for voter in voters for song in songs]))


def test_a_new_socket_gets_every_tally_then_presence(servers):
    show = ShowFactory(voting_open=True)
    song = SongFactory(artist=show.artist)
    vote_cast(user=UserFactory(), show_id=show.pk, song_id=song.pk, value=1)

    listener = Listener(servers(), show.pk)

    assert listener.read() == {
        "type": "tallies",
        "show_id": show.pk,
        "tallies": [{"song_id": song.pk, "upvotes": 1, "downvotes": 0, "score": 1, "version": 1}],
    }
    assert listener.read() == {"type": "presence", "show_id": show.pk, "count": 1}
    listener.close()


def test_coalesced_frames_converge_to_the_stored_counts_and_versions(servers):
    show = ShowFactory(voting_open=True)
    songs = SongFactory.create_batch(3, artist=show.artist)
    voters = UserFactory.create_batch(20)
    base = servers()
    listeners = [Listener(base, show.pk) for _ in range(3)]
    for listener in listeners:
        listener.read_until(lambda frame: frame["type"] == "presence" and frame["count"] == 3)

    cast_many(show, songs, voters)

    stored = stored_counts(show.pk)
    assert sum(version for _, _, version in stored.values()) == 60
    for listener in listeners:
        while listener.counts() != stored:
            listener.read()
        tallies_frames = [f for f in listener.frames if f["type"] == "tallies"]
        # Coalesced: fewer frames than votes (one per show every few tens of ms).
        assert len(tallies_frames) - 1 < 60
        listener.close()


def test_a_late_message_never_undoes_a_newer_version(servers):
    show = ShowFactory(voting_open=True)
    songs = SongFactory.create_batch(2, artist=show.artist)
    listener = Listener(servers(), show.pk)
    listener.read_until(lambda frame: frame["type"] == "presence")

    # Two votes' commits can publish in the other order: version 5 arrives, then a late 3.
    def publish(song, up, version):
        tally = {"show_id": show.pk, "song_id": song.pk, "upvotes": up, "downvotes": 0}
        live_publish(
            topic=LIVE_TOPIC,
            message={
                "kind": "tally",
                "show_id": show.pk,
                "tally": {**tally, "score": up, "version": version},
            },
        )

    publish(songs[0], 5, 5)
    listener.read_until(lambda frame: frame["type"] == "tallies")
    publish(songs[0], 3, 3)
    publish(songs[1], 1, 1)
    publish(songs[0], 6, 6)
    listener.read_until(lambda frame: listener.counts().get(songs[0].pk, (0, 0, 0))[2] == 6)

    first_song = [
        tally["version"]
        for frame in listener.frames
        if frame["type"] == "tallies"
        for tally in frame["tallies"]
        if tally["song_id"] == songs[0].pk
    ]
    assert first_song == [5, 6]
    assert listener.counts()[songs[1].pk] == (1, 0, 1)
    listener.close()


def test_racing_votes_never_send_a_socket_an_older_version_after_a_newer(servers):
    show = ShowFactory(voting_open=True)
    songs = SongFactory.create_batch(2, artist=show.artist)
    base = servers()
    listeners = [Listener(base, show.pk) for _ in range(2)]
    for listener in listeners:
        listener.read_until(lambda frame: frame["type"] == "presence" and frame["count"] == 2)

    cast_many(show, songs, UserFactory.create_batch(25))

    stored = stored_counts(show.pk)
    for listener in listeners:
        while listener.counts() != stored:
            listener.read()
        seen: dict[int, int] = {}
        for frame in listener.frames:
            for tally in frame["tallies"] if frame["type"] == "tallies" else []:
                assert tally["version"] >= seen.get(tally["song_id"], 0), (tally, seen)
                seen[tally["song_id"]] = tally["version"]
        assert seen == {song: version for song, (_, _, version) in stored.items()}
        listener.close()


def test_a_reconnecting_socket_gets_the_counts_it_missed(servers):
    show = ShowFactory(voting_open=True)
    songs = SongFactory.create_batch(2, artist=show.artist)
    base = servers()
    listener = Listener(base, show.pk)
    listener.read_until(lambda frame: frame["type"] == "presence")
    listener.close()

    cast_many(show, songs, UserFactory.create_batch(5))

    again = Listener(base, show.pk)
    first = again.read()
    assert first["type"] == "tallies"
    assert again.counts() == stored_counts(show.pk)
    assert len(first["tallies"]) == 2
    again.close()


def test_presence_counts_go_up_and_down_across_processes(servers):
    show = ShowFactory(voting_open=True)
    one, two = servers(), servers()

    first = Listener(one, show.pk)
    assert first.read_until(lambda frame: frame["type"] == "presence")["count"] == 1
    second = Listener(two, show.pk)
    third = Listener(two, show.pk)

    def present(n):
        return lambda frame: frame["type"] == "presence" and frame["count"] == n

    first.read_until(present(3))
    third.read_until(present(3))
    second.close()
    first.read_until(present(2))
    third.close()
    assert first.read_until(present(1))["count"] == 1
    first.close()


def test_a_status_change_is_pushed_with_its_label(servers):
    show = ShowFactory(voting_open=True)
    listener = Listener(servers(), show.pk)
    listener.read_until(lambda frame: frame["type"] == "presence")

    show_transition(show=show, status=Show.Status.LOCKED)

    assert listener.read_until(lambda frame: frame["type"] == "show.status") == {
        "type": "show.status",
        "show_id": show.pk,
        "status": "locked",
        "label": "Locked",
    }
    listener.close()


def test_an_unknown_show_is_refused(servers):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        connect(f"{servers()}/ws/shows/999999/", origin="http://127.0.0.1")

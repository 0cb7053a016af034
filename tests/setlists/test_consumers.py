import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from mysetlist.asgi import application
from mysetlist.setlists.models import Show
from mysetlist.setlists.services import show_transition, vote_cast
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = [(b"origin", b"http://127.0.0.1")]


async def connect(show_id: int) -> WebsocketCommunicator:
    """Connect and read what a new socket gets first: every tally, then presence."""
    communicator = WebsocketCommunicator(application, f"/ws/shows/{show_id}/", headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "tallies"
    assert (await communicator.receive_json_from(timeout=5))["type"] == "presence"
    return communicator


async def next_of(communicator: WebsocketCommunicator, kind: str) -> dict:
    """Return the next frame of `kind`, passing presence frames (which come on their own)."""
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == kind:
            return frame
        assert frame["type"] == "presence"


@database_sync_to_async
def make_show_and_song():
    show = ShowFactory(voting_open=True)
    return show, SongFactory(artist=show.artist), UserFactory()


async def test_a_vote_reaches_a_connected_client():
    show, song, user = await make_show_and_song()
    communicator = await connect(show.pk)

    await database_sync_to_async(vote_cast)(user=user, show_id=show.pk, song_id=song.pk, value=1)
    message = await next_of(communicator, "tallies")

    assert message == {
        "type": "tallies",
        "show_id": show.pk,
        "tallies": [{"song_id": song.pk, "upvotes": 1, "downvotes": 0, "score": 1, "version": 1}],
    }
    await communicator.disconnect()


@pytest.mark.slow
async def test_a_client_idle_longer_than_a_blocking_receive_still_hears_votes():
    show, song, user = await make_show_and_song()
    communicator = await connect(show.pk)
    layer = get_channel_layer()

    # Longer than the Redis layer's blocking pop (and redis-py's default socket timeout).
    await asyncio.sleep(getattr(layer, "brpop_timeout", 5) + 1.5)
    await database_sync_to_async(vote_cast)(user=user, show_id=show.pk, song_id=song.pk, value=1)

    assert (await next_of(communicator, "tallies"))["tallies"][0]["upvotes"] == 1
    await communicator.disconnect()


async def test_clients_of_other_shows_hear_nothing():
    show, song, user = await make_show_and_song()
    other, _, _ = await make_show_and_song()
    communicator = await connect(other.pk)

    await database_sync_to_async(vote_cast)(user=user, show_id=show.pk, song_id=song.pk, value=1)

    while not await communicator.receive_nothing(timeout=0.5):
        assert (await communicator.receive_json_from())["type"] == "presence"
    await communicator.disconnect()


async def test_closing_voting_is_pushed():
    show, _, _ = await make_show_and_song()
    communicator = await connect(show.pk)

    await database_sync_to_async(show_transition)(show=show, status=Show.Status.LOCKED)

    assert await next_of(communicator, "show.status") == {
        "type": "show.status",
        "show_id": show.pk,
        "status": "locked",
        "label": "Locked",
    }
    await communicator.disconnect()


async def test_unknown_show_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/shows/999999/", headers=ORIGIN)
    connected, code = await communicator.connect()

    assert not connected
    assert code == 4404


async def test_foreign_origin_is_refused():
    show, _, _ = await make_show_and_song()
    communicator = WebsocketCommunicator(
        application, f"/ws/shows/{show.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()

    assert not connected


@pytest.mark.parametrize(
    "frame", [{"text_data": '{"vote": 1}'}, {"text_data": "not json"}, {"bytes_data": b"\x00\xff"}]
)
async def test_anything_a_client_sends_is_answered_with_an_error(frame):
    show, song, user = await make_show_and_song()
    communicator = await connect(show.pk)

    await communicator.send_to(**frame)

    assert (await next_of(communicator, "error"))["type"] == "error"
    # The socket is still open and still gets counts.
    await database_sync_to_async(vote_cast)(user=user, show_id=show.pk, song_id=song.pk, value=1)
    assert (await next_of(communicator, "tallies"))["tallies"][0]["upvotes"] == 1
    await communicator.disconnect()

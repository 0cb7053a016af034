"""Vote counts under real concurrency: threads with their own PostgreSQL connections."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q

from mysetlist.core.exceptions import ApplicationError
from mysetlist.setlists.models import Show, Vote, VoteTally
from mysetlist.setlists.services import show_transition, vote_cast, vote_delete
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_thread(work):
    """Run work on its own database connection, closed afterwards."""

    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()

    return run


def counts_from_votes(show) -> dict[int, tuple[int, int]]:
    rows = (
        Vote.objects.filter(show=show)
        .values("song")
        .annotate(up=Count("id", filter=Q(value=1)), down=Count("id", filter=Q(value=-1)))
    )
    return {row["song"]: (row["up"], row["down"]) for row in rows}


def test_concurrent_votes_keep_counts_exact():
    show = ShowFactory(voting_open=True)
    songs = SongFactory.create_batch(2, artist=show.artist)
    users = UserFactory.create_batch(40)
    start = threading.Barrier(8)

    @in_thread
    def fan(index):
        user = users[index]
        if index < 8:
            start.wait()
        for round_ in range(3):
            for song in songs:
                value = 1 if (index + round_) % 3 else -1
                vote_cast(user=user, show_id=show.pk, song_id=song.pk, value=value)
        if index % 5 == 0:
            vote_delete(user=user, show_id=show.pk, song_id=songs[0].pk)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fan, range(len(users))))

    tallies = {t.song_id: (t.upvotes, t.downvotes) for t in VoteTally.objects.filter(show=show)}
    assert tallies == counts_from_votes(show)
    assert sum(up + down for up, down in tallies.values()) == 40 + 32  # 8 withdrew song 0


def test_same_user_racing_itself_leaves_one_vote():
    show = ShowFactory(voting_open=True)
    song = SongFactory(artist=show.artist)
    user = UserFactory()
    start = threading.Barrier(6)

    @in_thread
    def click(_):
        start.wait()
        vote_cast(user=user, show_id=show.pk, song_id=song.pk, value=1)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(click, range(6)))

    assert Vote.objects.filter(user=user, song=song).count() == 1
    tally = VoteTally.objects.get(show=show, song=song)
    assert (tally.upvotes, tally.downvotes) == (1, 0)


def test_closing_voting_waits_for_votes_in_flight():
    show = ShowFactory(voting_open=True)
    song = SongFactory(artist=show.artist)
    user = UserFactory()
    voted = threading.Event()
    stamps = {}

    @in_thread
    def slow_voter():
        with transaction.atomic():
            vote_cast(user=user, show_id=show.pk, song_id=song.pk, value=1)
            voted.set()
            time.sleep(0.5)
            stamps["vote about to commit"] = time.monotonic()

    @in_thread
    def closer():
        voted.wait()
        show_transition(show=Show.objects.get(pk=show.pk), status=Show.Status.LOCKED)
        stamps["voting closed"] = time.monotonic()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(slow_voter), pool.submit(closer)]
        for future in futures:
            future.result()

    assert stamps["voting closed"] > stamps["vote about to commit"]
    with pytest.raises(ApplicationError, match="not open"):
        vote_cast(user=UserFactory(), show_id=show.pk, song_id=song.pk, value=1)
    assert VoteTally.objects.get(show=show, song=song).upvotes == 1

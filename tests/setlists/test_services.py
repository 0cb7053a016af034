import datetime

import pytest
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from mysetlist.core.exceptions import ApplicationError, NotFoundError
from mysetlist.setlists.models import Follow, Show, Vote, VoteTally
from mysetlist.setlists.services import (
    follow_create,
    follow_delete,
    show_create,
    show_transition,
    show_update,
    shows_lock_past_due,
    vote_cast,
    vote_delete,
    votes_withdraw_all,
)
from notifications.models import Trigger
from tests.setlists.factories import (
    ArtistFactory,
    ShowFactory,
    SongFactory,
    UserFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db


def tally(show, song) -> tuple[int, int]:
    row = VoteTally.objects.get(show=show, song=song)
    return row.upvotes, row.downvotes


def test_vote_cast_creates_vote_and_counts_it(user, open_show, song):
    vote = vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)

    assert Vote.objects.get(pk=vote.pk).value == 1
    assert tally(open_show, song) == (1, 0)


def test_vote_cast_again_changes_the_vote_not_adds_one(user, open_show, song):
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=-1)

    assert Vote.objects.filter(user=user, show=open_show, song=song).count() == 1
    assert Vote.objects.get(user=user, show=open_show, song=song).value == -1
    assert tally(open_show, song) == (0, 1)


@pytest.mark.parametrize("returning", [True, False], ids=["upsert", "without-returning"])
def test_tallies_stay_exact_with_and_without_insert_returning(
    returning, open_show, song, monkeypatch
):
    # SQLite before 3.35 cannot return columns from an insert: the ORM's three statements.
    monkeypatch.setattr("mysetlist.setlists.services._upsert_returns", lambda: returning)
    fans = UserFactory.create_batch(3)
    for fan in fans:
        vote_cast(user=fan, show_id=open_show.pk, song_id=song.pk, value=1)
    vote_cast(user=fans[0], show_id=open_show.pk, song_id=song.pk, value=-1)
    vote_delete(user=fans[1], show_id=open_show.pk, song_id=song.pk)

    row = VoteTally.objects.get(show=open_show, song=song)
    assert (row.upvotes, row.downvotes, row.version) == (1, 1, 5)


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "without-returning"])
def test_taking_a_vote_from_a_missing_tally_raises_and_keeps_the_vote(
    returning, user, open_show, song, monkeypatch
):
    from django.db import IntegrityError

    monkeypatch.setattr("mysetlist.setlists.services._upsert_returns", lambda: returning)
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
    VoteTally.objects.filter(show=open_show).delete()  # drift, by hand

    with pytest.raises(IntegrityError, match="no tally to take from"):
        vote_delete(user=user, show_id=open_show.pk, song_id=song.pk)

    assert Vote.objects.filter(user=user, show=open_show, song=song).exists()
    assert not VoteTally.objects.filter(show=open_show).exists()


def test_vote_cast_same_value_twice_changes_nothing(user, open_show, song):
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
    version = VoteTally.objects.get(show=open_show, song=song).version
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)

    assert tally(open_show, song) == (1, 0)
    assert VoteTally.objects.get(show=open_show, song=song).version == version


def test_vote_cast_counts_many_users(open_show, song):
    for value in (1, 1, 1, -1):
        vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=song.pk, value=value)

    assert tally(open_show, song) == (3, 1)


@pytest.mark.parametrize(
    "status", [Show.Status.ANNOUNCED, Show.Status.LOCKED, Show.Status.COMPLETED]
)
def test_vote_cast_refused_unless_voting_open(user, status):
    show = ShowFactory(status=status)
    song = SongFactory(artist=show.artist)

    with pytest.raises(ApplicationError, match="Voting is not open"):
        vote_cast(user=user, show_id=show.pk, song_id=song.pk, value=1)
    assert not Vote.objects.exists()
    assert not VoteTally.objects.exists()


def test_vote_cast_refuses_song_of_another_artist(user, open_show):
    stranger = SongFactory()

    with pytest.raises(ApplicationError, match="not by the show's artist"):
        vote_cast(user=user, show_id=open_show.pk, song_id=stranger.pk, value=1)
    assert not Vote.objects.exists()


@pytest.mark.parametrize("value", [0, 2, -2, 10])
def test_vote_cast_refuses_values_other_than_plus_or_minus_one(user, open_show, song, value):
    with pytest.raises(ApplicationError, match=r"\+1 or -1"):
        vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=value)


def test_vote_cast_unknown_show_or_song_is_not_found(user, open_show, song):
    with pytest.raises(NotFoundError):
        vote_cast(user=user, show_id=open_show.pk + 999, song_id=song.pk, value=1)
    with pytest.raises(NotFoundError):
        vote_cast(user=user, show_id=open_show.pk, song_id=song.pk + 999, value=1)


def test_vote_delete_removes_vote_and_uncounts_it(user, open_show, song):
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=-1)
    vote_delete(user=user, show_id=open_show.pk, song_id=song.pk)

    assert not Vote.objects.exists()
    assert tally(open_show, song) == (0, 0)


def test_vote_delete_without_a_vote_is_not_found(user, open_show, song):
    with pytest.raises(NotFoundError):
        vote_delete(user=user, show_id=open_show.pk, song_id=song.pk)


def test_vote_delete_refused_once_voting_closed(user, open_show, song):
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
    show_transition(show=open_show, status=Show.Status.LOCKED)

    with pytest.raises(ApplicationError, match="not open"):
        vote_delete(user=user, show_id=open_show.pk, song_id=song.pk)
    assert Vote.objects.count() == 1


def test_tallies_match_the_votes_after_a_mix_of_changes(open_show):
    songs = SongFactory.create_batch(3, artist=open_show.artist)
    users = UserFactory.create_batch(5)
    for n, user in enumerate(users):
        for m, song in enumerate(songs):
            vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1 if n % 2 else -1)
            if (n + m) % 3 == 0:
                vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
            if (n + m) % 4 == 0:
                vote_delete(user=user, show_id=open_show.pk, song_id=song.pk)

    expected = {
        row["song"]: (row["up"], row["down"])
        for row in Vote.objects.values("song").annotate(
            up=Count("id", filter=Q(value=1)), down=Count("id", filter=Q(value=-1))
        )
    }
    actual = {t.song_id: (t.upvotes, t.downvotes) for t in VoteTally.objects.all()}
    assert actual == {song.pk: expected.get(song.pk, (0, 0)) for song in songs}


def test_show_transition_moves_forward_and_may_skip():
    show = ShowFactory()
    show_transition(show=show, status=Show.Status.VOTING_OPEN)
    show_transition(show=show, status=Show.Status.COMPLETED)

    show.refresh_from_db()
    assert show.status == Show.Status.COMPLETED


def test_show_transition_never_moves_back():
    show = ShowFactory(status=Show.Status.LOCKED)

    with pytest.raises(ApplicationError, match="cannot go from locked to voting_open"):
        show_transition(show=show, status=Show.Status.VOTING_OPEN)
    show.refresh_from_db()
    assert show.status == Show.Status.LOCKED


def test_shows_lock_past_due_locks_by_the_venue_local_date():
    # 2026-03-10 06:00 UTC is still 2026-03-09 in Los Angeles, already 2026-03-10 in Berlin.
    now = datetime.datetime(2026, 3, 10, 6, 0, tzinfo=datetime.UTC)
    la = VenueFactory(timezone="America/Los_Angeles")
    berlin = VenueFactory(timezone="Europe/Berlin")
    playing_tonight_in_la = ShowFactory(voting_open=True, venue=la, date=datetime.date(2026, 3, 9))
    played_in_berlin = ShowFactory(voting_open=True, venue=berlin, date=datetime.date(2026, 3, 9))
    upcoming = ShowFactory(voting_open=True, venue=berlin, date=datetime.date(2026, 3, 10))
    announced_past = ShowFactory(venue=berlin, date=datetime.date(2026, 3, 1))

    locked = shows_lock_past_due(now=now)

    assert locked == [played_in_berlin.pk]
    statuses = dict(Show.objects.values_list("pk", "status"))
    assert statuses[played_in_berlin.pk] == Show.Status.LOCKED
    assert statuses[playing_tonight_in_la.pk] == Show.Status.VOTING_OPEN
    assert statuses[upcoming.pk] == Show.Status.VOTING_OPEN
    assert statuses[announced_past.pk] == Show.Status.ANNOUNCED


def test_shows_lock_past_due_without_venue_uses_utc():
    now = datetime.datetime(2026, 3, 10, 0, 30, tzinfo=datetime.UTC)
    show = ShowFactory(voting_open=True, venue=None, date=datetime.date(2026, 3, 9))

    assert shows_lock_past_due(now=now) == [show.pk]


def test_follow_create_is_idempotent(user):
    show = ShowFactory()
    first = follow_create(user=user, artist_id=show.artist_id)
    second = follow_create(user=user, artist_id=show.artist_id)

    assert first.pk == second.pk
    assert Follow.objects.filter(user=user).count() == 1


def test_follow_create_unknown_artist_is_not_found(user):
    with pytest.raises(NotFoundError):
        follow_create(user=user, artist_id=424242)


def test_follow_delete(user):
    show = ShowFactory()
    follow_create(user=user, artist_id=show.artist_id)
    follow_delete(user=user, artist_id=show.artist_id)

    assert not Follow.objects.exists()
    with pytest.raises(NotFoundError):
        follow_delete(user=user, artist_id=show.artist_id)


def test_show_transition_rereads_the_status_so_a_stale_copy_cannot_go_back(open_show):
    stale = Show.objects.get(pk=open_show.pk)  # loaded while voting was open
    show_transition(show=open_show, status=Show.Status.LOCKED)

    with pytest.raises(ApplicationError, match="cannot go from locked to locked"):
        show_transition(show=stale, status=Show.Status.LOCKED)


def test_votes_withdraw_all_keeps_tallies_exact(open_show, song):
    leaver, stayer = UserFactory(), UserFactory()
    vote_cast(user=leaver, show_id=open_show.pk, song_id=song.pk, value=1)
    vote_cast(user=stayer, show_id=open_show.pk, song_id=song.pk, value=-1)
    show_transition(show=open_show, status=Show.Status.LOCKED)  # history counts too

    assert votes_withdraw_all(user=leaver) == 1
    assert tally(open_show, song) == (0, 1)


def test_deleting_a_user_takes_their_votes_out_of_the_tallies(open_show, song):
    leaver = UserFactory()
    vote_cast(user=leaver, show_id=open_show.pk, song_id=song.pk, value=1)
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=song.pk, value=1)

    leaver.delete()

    assert tally(open_show, song) == (1, 0)
    assert Vote.objects.count() == 1


def soon() -> datetime.date:
    return timezone.now().date() + datetime.timedelta(days=10)


class Rollback(Exception):
    pass


def test_show_create_writes_the_announcement_with_the_show():
    show = show_create(artist=ArtistFactory(), venue=VenueFactory(), date=soon())

    assert Trigger.objects.get().key == f"show_announced:{show.pk}"


def test_show_create_rolled_back_leaves_no_trigger():
    with pytest.raises(Rollback), transaction.atomic():
        show_create(artist=ArtistFactory(), date=soon())
        raise Rollback

    assert not Show.objects.exists() and not Trigger.objects.exists()


def test_show_create_of_a_past_or_played_show_announces_nothing():
    artist = ArtistFactory()
    show_create(artist=artist, date=timezone.now().date() - datetime.timedelta(days=1))
    show_create(artist=artist, date=soon(), status=Show.Status.COMPLETED)

    assert not Trigger.objects.exists()


def test_show_create_validates_before_saving():
    with pytest.raises(Exception, match="status"):
        show_create(artist=ArtistFactory(), date=soon(), status="postponed")
    assert not Show.objects.exists()


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (Show.Status.VOTING_OPEN, "voting_opened"),
        (Show.Status.LOCKED, "voting_closed"),
        (Show.Status.COMPLETED, "setlist_posted"),
    ],
)
def test_show_transition_writes_its_trigger_with_the_change(status, category):
    show = ShowFactory()
    with pytest.raises(Rollback), transaction.atomic():
        show_transition(show=show, status=status)
        assert Trigger.objects.get().category == category  # in the change's transaction
        raise Rollback
    assert not Trigger.objects.exists()

    show_transition(show=show, status=status)
    assert Trigger.objects.get().key == f"{category}:{show.pk}"


def test_show_update_changes_details_and_tells_nobody():
    show = ShowFactory()
    venue = VenueFactory()

    show_update(show=show, data={"venue": venue, "date": soon() + datetime.timedelta(days=1)})

    show.refresh_from_db()
    assert show.venue == venue and show.date == soon() + datetime.timedelta(days=1)
    assert not Trigger.objects.exists()
    with pytest.raises(ApplicationError, match="status"):
        show_update(show=show, data={"status": Show.Status.LOCKED})

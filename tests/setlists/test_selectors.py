import pytest

from mysetlist.core.exceptions import ApplicationError, NotFoundError
from mysetlist.setlists.models import Show
from mysetlist.setlists.selectors import artist_get, show_ballot, show_list
from mysetlist.setlists.services import vote_cast
from tests.setlists.factories import (
    SetlistEntryFactory,
    ShowFactory,
    SongFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_show_ballot_orders_by_score_and_marks_my_vote(open_show, django_assert_num_queries):
    loved, liked, unloved, unvoted = (
        SongFactory(artist=open_show.artist, title=t) for t in ("Loved", "Liked", "Unloved", "Zzz")
    )
    me, other = UserFactory(), UserFactory()
    vote_cast(user=me, show_id=open_show.pk, song_id=loved.pk, value=1)
    vote_cast(user=other, show_id=open_show.pk, song_id=loved.pk, value=1)
    vote_cast(user=other, show_id=open_show.pk, song_id=liked.pk, value=1)
    vote_cast(user=me, show_id=open_show.pk, song_id=unloved.pk, value=-1)

    with django_assert_num_queries(3):
        ballot = show_ballot(show=open_show, user=me)

    assert [line.title for line in ballot] == ["Loved", "Liked", "Zzz", "Unloved"]
    assert [(line.upvotes, line.downvotes, line.score) for line in ballot] == [
        (2, 0, 2),
        (1, 0, 1),
        (0, 0, 0),
        (0, 1, -1),
    ]
    assert [line.my_vote for line in ballot] == [1, 0, 0, -1]


def test_show_ballot_breaks_ties_by_times_played(open_show):
    SongFactory(artist=open_show.artist, title="A rarity")
    staple = SongFactory(artist=open_show.artist, title="B staple")
    SetlistEntryFactory.create_batch(3, song=staple, show=ShowFactory(artist=open_show.artist))

    ballot = show_ballot(show=open_show, user=None)

    assert [(line.title, line.times_played) for line in ballot] == [
        ("B staple", 3),
        ("A rarity", 0),
    ]


def test_show_list_filters_by_status_and_dates(open_show):
    import datetime

    ShowFactory(artist=open_show.artist, status=Show.Status.COMPLETED)
    later = ShowFactory(
        artist=open_show.artist, voting_open=True, date=open_show.date + datetime.timedelta(days=30)
    )

    by_status = show_list(filters={"artist": open_show.artist_id, "status": ["voting_open"]})
    by_dates = show_list(
        filters={"artist": open_show.artist_id, "status": ["voting_open"],
                 "date_from": open_show.date + datetime.timedelta(days=1)}
    )  # fmt: skip
    until = show_list(filters={"date_to": open_show.date, "status": ["voting_open"]})

    assert set(by_status) == {open_show, later}
    assert list(by_dates) == [later]
    assert list(until) == [open_show]


def test_show_list_rejects_a_bad_filter():
    with pytest.raises(ApplicationError) as error:
        show_list(filters={"status": ["party"]})
    assert "status" in error.value.extra["fields"]


def test_artist_get_missing_is_not_found():
    with pytest.raises(NotFoundError):
        artist_get(slug="nobody")

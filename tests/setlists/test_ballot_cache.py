"""The show ballot through the tiered cache: shared counts cached, each fan's own votes not,
and never stale after a change that committed."""

import os

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from mysetlist.core import tiered_cache
from mysetlist.setlists.models import Show
from mysetlist.setlists.selectors import show_ballot
from mysetlist.setlists.services import show_transition, vote_cast
from tests.core.cache_process import OtherProcess, database_url_of_tests
from tests.setlists.factories import SetlistEntryFactory, ShowFactory, SongFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the block writes as if it committed (its invalidations happen)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def show_with_songs(committed):
    with committed():
        show = ShowFactory(voting_open=True)
        songs = [SongFactory(artist=show.artist, title=t) for t in ("Alpha", "Beta")]
    return show, songs


def ballot_counts(show, user=None):
    return {line.title: (line.upvotes, line.my_vote) for line in show_ballot(show=show, user=user)}


def reads(outcome: str) -> int:
    return tiered_cache.cache_stats().get("ballot", {}).get(outcome, 0)


def test_the_ballot_is_cached_and_new_after_a_vote(show_with_songs, committed):
    show, (alpha, _) = show_with_songs
    assert ballot_counts(show) == {"Alpha": (0, 0), "Beta": (0, 0)}
    assert ballot_counts(show) == {"Alpha": (0, 0), "Beta": (0, 0)}
    assert (reads("miss"), reads("local_hit")) == (1, 1)
    with committed():
        vote_cast(user=UserFactory(), show_id=show.pk, song_id=alpha.pk, value=1)
    assert ballot_counts(show)["Alpha"] == (1, 0)
    assert reads("miss") == 2


def test_a_fans_own_votes_never_leak_to_another_fan(show_with_songs, committed):
    show, (alpha, beta) = show_with_songs
    me, you = UserFactory(), UserFactory()
    with committed():
        vote_cast(user=me, show_id=show.pk, song_id=alpha.pk, value=1)
        vote_cast(user=you, show_id=show.pk, song_id=beta.pk, value=-1)
    assert ballot_counts(show, me) == {"Alpha": (1, 1), "Beta": (0, 0)}
    assert ballot_counts(show, you) == {"Alpha": (1, 0), "Beta": (0, -1)}
    assert ballot_counts(show) == {"Alpha": (1, 0), "Beta": (0, 0)}
    assert (reads("miss"), reads("local_hit")) == (1, 2)  # one shared ballot for the three


def test_the_ballot_api_and_page_show_the_new_count_after_a_vote(show_with_songs, committed):
    show, (alpha, _) = show_with_songs
    fan, other = UserFactory(), UserFactory()
    client, other_client = APIClient(), APIClient()
    client.force_authenticate(fan)
    other_client.force_authenticate(other)
    url = reverse("setlists-api:show-ballot", args=[show.pk])
    assert client.get(url).json()[0]["upvotes"] == 0
    with committed():
        response = client.post(
            reverse("setlists-api:vote-cast"),
            {"show": show.pk, "song": alpha.pk, "value": 1},
            format="json",
        )
    assert response.status_code == 200
    mine = {line["song_id"]: line for line in client.get(url).json()}
    theirs = {line["song_id"]: line for line in other_client.get(url).json()}
    assert (mine[alpha.pk]["upvotes"], mine[alpha.pk]["my_vote"]) == (1, 1)
    assert (theirs[alpha.pk]["upvotes"], theirs[alpha.pk]["my_vote"]) == (1, 0)
    page = other_client.get(reverse("setlists:show-detail", args=[show.pk]))
    assert page.status_code == 200
    assert reads("local_hit") >= 2


def test_a_new_song_or_setlist_reaches_the_ballot(show_with_songs, committed):
    show, (alpha, _) = show_with_songs
    assert list(ballot_counts(show)) == ["Alpha", "Beta"]
    with committed():
        SongFactory(artist=show.artist, title="Gamma")
    assert list(ballot_counts(show)) == ["Alpha", "Beta", "Gamma"]
    with committed():  # Beta played once elsewhere: it now ranks first of the unvoted
        SetlistEntryFactory(show=ShowFactory(artist=show.artist), song=show_with_songs[1][1])
    assert list(ballot_counts(show)) == ["Beta", "Alpha", "Gamma"]


def test_a_status_change_invalidates_the_ballot(show_with_songs, committed):
    show, _ = show_with_songs
    show_ballot(show=show)
    with committed():
        show_transition(show=show, status=Show.Status.LOCKED)
    show_ballot(show=show)
    assert reads("miss") == 2


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="processes share only Redis")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_process_sees_the_new_count_after_a_vote(settings):
    show = ShowFactory(voting_open=True)
    song = SongFactory(artist=show.artist)
    other = OtherProcess(DATABASE_URL=database_url_of_tests())
    try:
        assert other.ask(op="ballot", show_id=show.pk) == [[song.pk, 0]]
        vote_cast(user=UserFactory(), show_id=show.pk, song_id=song.pk, value=1)  # commits
        took = other.wait_for(
            [[song.pk, 1]],
            within=settings.TIERED_CACHE_CHECK_SECONDS + 1,
            op="ballot",
            show_id=show.pk,
        )
        assert took <= settings.TIERED_CACHE_CHECK_SECONDS + 0.5
    finally:
        other.close()


def test_the_ballot_is_new_after_staff_exclude_votes(show_with_songs, committed):
    from mysetlist.setlists.services import votes_exclude

    show, (alpha, _) = show_with_songs
    with committed():
        vote = vote_cast(user=UserFactory(), show_id=show.pk, song_id=alpha.pk, value=1)
    assert ballot_counts(show)["Alpha"] == (1, 0)
    assert ballot_counts(show)["Alpha"] == (1, 0)  # from the cache now

    with committed():
        votes_exclude(show_id=show.pk, vote_ids=[vote.pk], by=UserFactory(is_staff=True),
                      reason="one account far above the others")  # fmt: skip

    assert ballot_counts(show)["Alpha"] == (0, 0)

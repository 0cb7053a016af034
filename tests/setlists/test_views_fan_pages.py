"""The fan-facing show and artist pages as served, without JavaScript: the ballot's filters
and vote form, a played show's outcome, the artist's shows page by page."""

import datetime

import pytest
from django.urls import reverse

from mysetlist.setlists import selectors
from mysetlist.setlists.models import Show, Vote
from mysetlist.setlists.services import vote_cast
from tests.setlists.factories import (
    ArtistFactory,
    SetlistEntryFactory,
    ShowFactory,
    SongFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paged_artist():
    artist = ArtistFactory(name="Paged Band")
    today = datetime.date.today()
    for n in range(3):
        ShowFactory(artist=artist, date=today + datetime.timedelta(days=n + 1))
    for n in range(25):
        ShowFactory(
            artist=artist,
            date=today - datetime.timedelta(days=n + 1),
            status=Show.Status.COMPLETED,
        )
    return artist


def test_artist_page_shows_twenty_past_shows_then_the_rest_on_page_two(client, paged_artist):
    url = paged_artist.get_absolute_url()

    first = client.get(url)
    second = client.get(url, {"past_page": "2", "upcoming_page": "1"})

    assert first.status_code == 200 and second.status_code == 200
    assert len(first.context["past"].object_list) == 20
    assert len(second.context["past"].object_list) == 5
    assert "Page 1 of 2" in first.text and "Page 2 of 2" in second.text
    assert "?past_page=2&amp;upcoming_page=1#past" in first.text
    oldest = (datetime.date.today() - datetime.timedelta(days=25)).strftime("%a %-d %b %Y")
    assert oldest in second.text and oldest not in first.text
    assert len(second.context["upcoming"].object_list) == 3  # the other list stays


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"past_page": "abc"}, "“abc” is not a page number of the past shows."),
        ({"past_page": "1.5"}, "“1.5” is not a page number of the past shows."),
        ({"past_page": "3"}, "There is no page 3 of the past shows: there are 2 pages."),
        ({"past_page": "0"}, "There is no page 0 of the past shows: there are 2 pages."),
        ({"upcoming_page": "-1"}, "There is no page -1 of the upcoming shows: there is one page."),
        (
            {"upcoming_page": "99999999999999999999999"},
            "There is no page 99999999999999999999999 of the upcoming shows: there is one page.",
        ),
    ],
)
def test_artist_page_bad_page_number_is_a_clear_404(client, paged_artist, query, message):
    response = client.get(paged_artist.get_absolute_url(), query)

    assert response.status_code == 404
    assert message in response.text
    assert f'href="{paged_artist.get_absolute_url()}"' in response.text


def test_artist_page_offers_follow_to_a_fan_and_log_in_to_a_visitor(client, paged_artist):
    assert "Log in</a> to follow Paged Band" in client.get(paged_artist.get_absolute_url()).text
    client.force_login(UserFactory())

    page = client.get(paged_artist.get_absolute_url()).text

    assert 'id="follow-button"' in page and "+ Follow Paged Band" in page
    assert reverse("setlists:artist-follow", args=[paged_artist.slug]) in page


def test_artist_search_for_an_unknown_name_says_nothing_matches(client):
    ArtistFactory(name="Known Band")

    response = client.get(reverse("setlists:artist-list"), {"q": "xyz"})

    assert response.status_code == 200
    assert "No artist matches “xyz”." in response.text
    assert "No artists yet." not in response.text


def test_vote_form_without_javascript_casts_shows_and_withdraws_a_vote(client, open_show, song):
    user = UserFactory()
    client.force_login(user)
    url = reverse("setlists:show-vote", args=[open_show.pk])

    response = client.post(url, {"song": song.pk, "value": "1"}, follow=True)
    page = response.text

    assert Vote.objects.get(user=user, song=song).value == 1
    assert response.redirect_chain[-1][0] == f"{open_show.get_absolute_url()}#song-{song.pk}"
    assert f'id="song-{song.pk}"' in page
    assert f'data-song-id="{song.pk}" data-version="1" data-my-vote="1"' in page
    # The chosen button posts 0: pressing it again takes the vote back.
    assert 'value="0" data-value="1" data-track="vote-up"' in page
    assert 'aria-pressed="true"' in page

    page = client.post(url, {"song": song.pk, "value": "0"}, follow=True).text

    assert not Vote.objects.filter(user=user).exists()
    assert 'data-my-vote="0"' in page


def test_show_page_filters_the_ballot_on_the_server(client, open_show):
    wanted = SongFactory(artist=open_show.artist, title="Ångström Waltz")
    mine = SongFactory(artist=open_show.artist, title="Mine")
    SongFactory(artist=open_show.artist, title="Other")
    fan = UserFactory()
    vote_cast(user=fan, show_id=open_show.pk, song_id=mine.pk, value=-1)
    client.force_login(fan)
    url = open_show.get_absolute_url()

    by_text = client.get(url, {"q": "ANGSTROM"})
    by_vote = client.get(url, {"only": "mine"})
    unknown = client.get(url, {"only": "<script>"})
    nothing = client.get(url, {"q": "zzz"})

    assert [line.song_id for line in by_text.context["ballot"]] == [wanted.pk]
    assert "1 of 3 songs" in by_text.text
    assert [line.song_id for line in by_vote.context["ballot"]] == [mine.pk]
    assert unknown.status_code == 200 and len(unknown.context["ballot"]) == 3
    assert "<script>" not in unknown.text.split('id="ballot-tools"')[1].split("</form>")[0]
    assert "No song matches" in nothing.text


def test_ballot_filter_keeps_songs_never_played_live():
    lines = [
        selectors.BallotLine(1, "Played", 0, 0, 0, 0, 3),
        selectors.BallotLine(2, "Never", 0, 0, 0, 1, 0),
    ]

    assert [line.song_id for line in selectors.ballot_filter(lines=lines, only="unplayed")] == [2]
    assert [line.song_id for line in selectors.ballot_filter(lines=lines, text=" nev ")] == [2]
    assert len(selectors.ballot_filter(lines=lines, only="anything")) == 2


def test_played_show_shows_the_setlist_against_the_votes_not_a_ballot(client, open_show):
    songs = [SongFactory(artist=open_show.artist, title=f"S{n}") for n in range(4)]
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=songs[0].pk, value=1)
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=songs[0].pk, value=1)
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=songs[3].pk, value=1)
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=songs[2].pk, value=-1)
    Show.objects.filter(pk=open_show.pk).update(status=Show.Status.COMPLETED)
    SetlistEntryFactory(show=open_show, song=songs[1], position=1)
    SetlistEntryFactory(show=open_show, song=songs[0], position=2, set_marker="encore")

    response = client.get(open_show.get_absolute_url())

    assert response.status_code == 200
    page = response.text
    assert 'id="ballot"' not in page and 'id="live"' not in page
    outcome = response.context["outcome"]
    assert [song.song_id for song in outcome.setlist] == [songs[1].pk, songs[0].pk]
    assert outcome.setlist[1].fans_rank == 1 and outcome.setlist[1].encore
    # The fans' top two (as long as the setlist): S0 (score 2, played), S3 (score 1, not).
    assert [(p.song_id, p.played) for p in outcome.fans_top] == [
        (songs[0].pk, True),
        (songs[3].pk, False),
    ]
    assert "1 of 2</strong> of the fans' best-voted songs were played" in page
    assert "No prediction was made before this show." in page
    assert "Completed" in page


def test_played_show_without_its_setlist_yet_says_so(client, open_show, song):
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=song.pk, value=1)
    Show.objects.filter(pk=open_show.pk).update(status=Show.Status.COMPLETED)

    page = client.get(open_show.get_absolute_url()).text

    assert "its setlist has not been entered yet" in page
    assert "The fans' top 1" in page and 'id="fans-summary"' not in page


def test_played_show_without_any_voted_song_has_no_top_zero(client, open_show):
    Show.objects.filter(pk=open_show.pk).update(status=Show.Status.COMPLETED)

    page = client.get(open_show.get_absolute_url()).text

    assert "The fans' top 0" not in page
    assert "The fans' votes" in page
    assert "No song got more up-votes than down-votes for this show." in page


def test_show_outcome_marks_the_prediction_hits():
    setlist_song = type("Song", (), {"title": "A"})
    entry = type("Entry", (), {"song_id": 1, "song": setlist_song, "set_marker": "main"})()

    outcome = selectors.show_outcome(setlist=[entry], ballot=[], predicted=[(1, "A"), (2, "B")])

    assert [(p.song_id, p.played) for p in outcome.predicted] == [(1, True), (2, False)]
    assert outcome.predicted_hits == 1 and outcome.setlist[0].predicted
    assert outcome.fans_top == () and outcome.fans_hits == 0


def test_locked_show_without_setlist_keeps_the_final_ballot_with_buttons_off(
    client, open_show, song
):
    Show.objects.filter(pk=open_show.pk).update(status=Show.Status.LOCKED)
    client.force_login(UserFactory())

    page = client.get(open_show.get_absolute_url()).text

    assert 'id="ballot"' in page and "Voting is closed: these are the final counts." in page
    assert 'data-voting-open="false"' in page and "disabled" in page


def test_artist_page_queries_do_not_grow_with_its_shows(
    client, paged_artist, django_assert_max_num_queries
):
    client.force_login(UserFactory())

    # 10 on PostgreSQL: the session and user, the artist, the follow, a count and a page of
    # each list (venues and tours joined), and the page view's records; none per show.
    with django_assert_max_num_queries(12):
        response = client.get(paged_artist.get_absolute_url(), {"past_page": "2"})

    assert response.status_code == 200
    assert len(response.context["past"].object_list) == 5

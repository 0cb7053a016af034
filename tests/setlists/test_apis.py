import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle

from mysetlist.setlists.models import Follow, Show, Vote, VoteTally
from mysetlist.setlists.services import vote_cast
from tests.setlists.factories import (
    ArtistFactory,
    SetlistEntryFactory,
    ShowFactory,
    SongFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def cast_url():
    return reverse("setlists-api:vote-cast")


# Reading the catalogue


def test_artist_list_is_paginated_and_filterable(api_client, django_assert_num_queries):
    for name in ("Alpha", "Beta", "Alphabet"):
        ArtistFactory(name=name)

    with django_assert_num_queries(2):
        response = api_client.get(
            reverse("setlists-api:artist-list"), {"name": "alpha", "limit": 1}
        )

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [a["name"] for a in body["results"]] == ["Alpha"]
    assert body["next"] is not None


def test_artist_detail_and_missing_artist(api_client):
    artist = ArtistFactory()
    SongFactory.create_batch(2, artist=artist)

    found = api_client.get(reverse("setlists-api:artist-detail", args=[artist.pk]))
    missing = api_client.get(reverse("setlists-api:artist-detail", args=[artist.pk + 99]))

    assert found.json()["song_count"] == 2
    assert missing.status_code == 404
    assert missing.json() == {"message": "Artist not found.", "extra": {}}


def test_show_list_filters_and_avoids_n_plus_one(api_client, django_assert_num_queries):
    artist = ArtistFactory()
    ShowFactory.create_batch(5, artist=artist, status=Show.Status.VOTING_OPEN)
    ShowFactory.create_batch(2, artist=artist, status=Show.Status.COMPLETED)

    with django_assert_num_queries(2):
        response = api_client.get(
            reverse("setlists-api:show-list"), {"artist": artist.pk, "status": "voting_open"}
        )

    assert response.status_code == 200
    assert response.json()["count"] == 5
    assert {s["status"] for s in response.json()["results"]} == {"voting_open"}
    assert response.json()["results"][0]["venue"]["timezone"] == "America/Chicago"


@pytest.mark.parametrize(
    "params,field",
    [
        ({"status": "party"}, "status"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"artist": "x"}, "artist"),
    ],
)
def test_show_list_bad_filter_is_a_clear_400(api_client, params, field):
    response = api_client.get(reverse("setlists-api:show-list"), params)

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


def test_show_detail_ballot_and_setlist(api_client, open_show, song):
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=song.pk, value=1)
    played = ShowFactory(artist=open_show.artist, status=Show.Status.COMPLETED)
    SetlistEntryFactory(show=played, song=song, position=1)

    detail = api_client.get(reverse("setlists-api:show-detail", args=[open_show.pk]))
    ballot = api_client.get(reverse("setlists-api:show-ballot", args=[open_show.pk]))
    setlist = api_client.get(reverse("setlists-api:show-setlist", args=[played.pk]))

    assert detail.json()["status"] == "voting_open"
    assert ballot.json()[0] == {
        "song_id": song.pk,
        "title": song.title,
        "upvotes": 1,
        "downvotes": 0,
        "score": 1,
        "version": 1,
        "my_vote": 0,
        "times_played": 1,
    }
    assert setlist.json() == [
        {
            "position": 1,
            "song_id": song.pk,
            "title": song.title,
            "set_marker": "main",
            "set_number": None,
        }
    ]


def test_song_list_filters_by_artist(api_client):
    artist = ArtistFactory()
    SongFactory.create_batch(3, artist=artist)
    SongFactory()

    response = api_client.get(reverse("setlists-api:song-list"), {"artist": artist.pk})

    assert response.json()["count"] == 3


# Voting


def test_vote_cast_needs_login(api_client, open_show, song):
    response = api_client.post(cast_url(), {"show": open_show.pk, "song": song.pk, "value": 1})

    assert response.status_code in (401, 403)
    assert "message" in response.json()
    assert not Vote.objects.exists()


def test_vote_cast_counts_and_returns_the_tally(user_client, open_show, song):
    response = user_client.post(cast_url(), {"show": open_show.pk, "song": song.pk, "value": 1})

    assert response.status_code == 200
    assert response.json()["vote"]["value"] == 1
    assert response.json()["tally"] == {"upvotes": 1, "downvotes": 0, "score": 1, "version": 1}


def test_vote_cast_changes_an_existing_vote(user_client, open_show, song):
    user_client.post(cast_url(), {"show": open_show.pk, "song": song.pk, "value": 1})
    response = user_client.post(cast_url(), {"show": open_show.pk, "song": song.pk, "value": -1})

    assert response.json()["tally"]["score"] == -1
    assert Vote.objects.get().value == -1


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"song": 1, "value": 1}, "show"),
        ({"show": 1, "value": 1}, "song"),
        ({"show": 1, "song": 1, "value": 5}, "value"),
        ({"show": "abc", "song": 1, "value": 1}, "show"),
        ({"show": 1, "song": 1, "value": None}, "value"),
    ],
)
def test_vote_cast_bad_input_is_a_clear_400(user_client, payload, field):
    response = user_client.post(cast_url(), payload)

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


def test_vote_cast_malformed_json_is_a_400(user_client):
    response = user_client.post(cast_url(), data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error")


def test_vote_cast_on_closed_show_is_refused(user_client, song):
    locked = ShowFactory(artist=song.artist, status=Show.Status.LOCKED)

    response = user_client.post(cast_url(), {"show": locked.pk, "song": song.pk, "value": 1})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Voting is not open for this show (it is locked).",
        "extra": {"status": "locked"},
    }


def test_vote_cast_for_another_artists_song_is_refused(user_client, open_show):
    response = user_client.post(
        cast_url(), {"show": open_show.pk, "song": SongFactory().pk, "value": 1}
    )

    assert response.status_code == 400
    assert "song" in response.json()["extra"]["fields"]


def test_vote_cast_unknown_show_is_404(user_client, song):
    response = user_client.post(cast_url(), {"show": 999999, "song": song.pk, "value": 1})

    assert response.status_code == 404
    assert response.json()["message"] == "Show not found."


def test_vote_cast_with_token_auth(api_client, open_show, song):
    token = Token.objects.create(user=UserFactory())
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api_client.post(cast_url(), {"show": open_show.pk, "song": song.pk, "value": 1})

    assert response.status_code == 200


def test_session_auth_needs_csrf(open_show, song, client):
    client.force_login(UserFactory())
    client.handler.enforce_csrf_checks = True

    response = client.post(
        cast_url(),
        {"show": open_show.pk, "song": song.pk, "value": 1},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert not Vote.objects.exists()


@pytest.fixture
def vote_rate(monkeypatch):
    """Lower the votes throttle for one test; DRF reads the rates once, at class creation."""

    def lower(rate):
        rates = {**ScopedRateThrottle.THROTTLE_RATES, "votes": rate}
        monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)

    return lower


def test_vote_cast_is_throttled(user_client, user, open_show, song, vote_rate):
    vote_rate("3/min")
    cache.delete(f"throttle_votes_{user.pk}")
    payload = {"show": open_show.pk, "song": song.pk, "value": 1}

    codes = [user_client.post(cast_url(), payload).status_code for _ in range(4)]

    cache.delete(f"throttle_votes_{user.pk}")
    assert codes == [200, 200, 200, 429]


def test_throttle_cannot_be_dodged_with_x_forwarded_for(api_client, monkeypatch):
    rates = {**AnonRateThrottle.THROTTLE_RATES, "anon": "2/min"}
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", rates)
    cache.delete("throttle_anon_10.9.8.7")
    url = reverse("setlists-api:artist-list")

    codes = [
        api_client.get(url, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}", REMOTE_ADDR="10.9.8.7").status_code
        for n in range(3)
    ]

    cache.delete("throttle_anon_10.9.8.7")
    assert codes == [200, 200, 429]


@pytest.mark.parametrize(
    "url,params",
    [
        ("setlists-api:show-list", {"artist": "99999999999999999999"}),
        ("setlists-api:show-list", {"tour": "99999999999999999999"}),
        ("setlists-api:song-list", {"artist": "99999999999999999999"}),
    ],
)
def test_oversized_ids_in_filters_are_a_400(api_client, url, params):
    response = api_client.get(reverse(url), params)

    assert response.status_code == 400
    assert set(params) <= set(response.json()["extra"]["fields"])


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/shows/99999999999999999999/"),
        ("delete", "/api/votes/1/99999999999999999999/"),
        ("delete", "/api/follows/99999999999999999999/"),
    ],
)
def test_oversized_ids_in_paths_are_a_404(user_client, method, path):
    response = getattr(user_client, method)(path)

    assert response.status_code == 404
    assert response.json()["message"] == "Not found."


def test_oversized_ids_in_a_vote_are_a_400(user_client, open_show):
    response = user_client.post(
        cast_url(), {"show": open_show.pk, "song": 2**70, "value": 1}, format="json"
    )

    assert response.status_code == 400
    assert "song" in response.json()["extra"]["fields"]


def test_vote_delete(user_client, user, open_show, song):
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
    url = reverse("setlists-api:vote-delete", args=[open_show.pk, song.pk])

    first = user_client.delete(url)
    second = user_client.delete(url)

    assert first.status_code == 204
    assert second.status_code == 404
    assert VoteTally.objects.get().upvotes == 0


def test_vote_list_shows_only_my_votes(
    user_client, user, open_show, song, django_assert_num_queries
):
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=song.pk, value=-1)

    with django_assert_num_queries(2):
        response = user_client.get(reverse("setlists-api:vote-list"))

    assert response.json()["count"] == 1
    assert response.json()["results"][0]["value"] == 1


def test_vote_list_needs_login(api_client):
    assert api_client.get(reverse("setlists-api:vote-list")).status_code in (401, 403)


# Following


def test_follow_create_list_delete(user_client, user):
    artist = ArtistFactory()
    Follow.objects.create(user=UserFactory(), artist=ArtistFactory())  # someone else's

    created = user_client.post(reverse("setlists-api:follow-create"), {"artist": artist.pk})
    again = user_client.post(reverse("setlists-api:follow-create"), {"artist": artist.pk})
    listed = user_client.get(reverse("setlists-api:follow-list"))
    deleted = user_client.delete(reverse("setlists-api:follow-delete", args=[artist.pk]))

    assert (created.status_code, again.status_code) == (201, 201)
    assert [f["artist"] for f in listed.json()["results"]] == [artist.pk]
    assert deleted.status_code == 204
    assert not Follow.objects.filter(user=user).exists()


def test_follow_bad_input(user_client):
    missing = user_client.post(reverse("setlists-api:follow-create"), {"artist": 424242})
    bad = user_client.post(reverse("setlists-api:follow-create"), {"artist": "me"})
    not_following = user_client.delete(reverse("setlists-api:follow-delete", args=[424242]))

    assert missing.status_code == 404
    assert bad.status_code == 400 and "artist" in bad.json()["extra"]["fields"]
    assert not_following.status_code == 404


def test_follow_needs_login(api_client):
    response = api_client.post(reverse("setlists-api:follow-create"), {"artist": 1})

    assert response.status_code in (401, 403)


def test_auth_token_endpoint(api_client):
    user = UserFactory(username="tokenfan")

    good = api_client.post(
        reverse("auth-token"), {"username": "tokenfan", "password": "correct horse battery"}
    )
    bad = api_client.post(reverse("auth-token"), {"username": "tokenfan", "password": "nope"})

    assert good.json()["token"] == Token.objects.get(user=user).key
    assert bad.status_code == 400
    assert bad.json()["message"] == "Unable to log in with provided credentials."

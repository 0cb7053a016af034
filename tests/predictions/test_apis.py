import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from mysetlist.setlists.models import Show
from predictions import services
from predictions.models import ShowPrediction
from tests.predictions.factories import CORE, band_import
from tests.setlists.factories import ShowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def upcoming():
    band_import()
    services.model_fit(histories=services.imported_histories(), last=10)
    artist = Show.objects.filter(artist__name="Made-up Band").first().artist
    last = artist.shows.order_by("date").last()
    return ShowFactory(
        artist=artist, date=last.date + datetime.timedelta(days=3), status=Show.Status.VOTING_OPEN
    )


@pytest.fixture
def staff_client():
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


def url(name, **kwargs):
    return reverse(f"predictions-api:{name}", kwargs=kwargs)


def test_show_prediction_is_public_with_probabilities_reasons_and_setlist(api_client, upcoming):
    response = api_client.get(url("show-prediction", show_id=upcoming.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["available"] is True and body["show_id"] == upcoming.pk
    assert body["expected_length"] == 17 and body["history_shows"] == 60
    assert {s["title"] for s in body["songs"][:10]} == set(CORE)
    assert all(0 < s["probability"] < 1 and s["reason"] for s in body["songs"])
    assert len(body["main_set"]) + len(body["encore"]) == 17
    assert body["encore"][0]["title"] in {"Closer A", "Closer B"}
    assert body["accuracy"] is None
    # A second read answers from the stored prediction.
    api_client.get(url("show-prediction", show_id=upcoming.pk))
    assert ShowPrediction.objects.filter(show=upcoming).count() == 1


def test_show_prediction_of_an_unknown_show_is_a_json_404(api_client, upcoming):
    response = api_client.get(url("show-prediction", show_id=999999))
    assert response.status_code == 404 and response.json()["message"] == "Show not found."


def test_show_prediction_of_a_past_show_without_one_says_so(api_client, upcoming):
    past = upcoming.artist.shows.order_by("date").first()
    body = api_client.get(url("show-prediction", show_id=past.pk)).json()
    assert body["available"] is False
    assert body["note"] == "no prediction was made before this show"


def test_show_prediction_of_a_newcomer_says_not_enough_history(api_client, upcoming):
    show = ShowFactory(status=Show.Status.VOTING_OPEN)
    body = api_client.get(url("show-prediction", show_id=show.pk)).json()
    assert body["available"] is False and body["songs"] == []
    assert body["note"].startswith("not enough history")


def test_generate_is_for_staff_only(api_client, user_client, staff_client, upcoming):
    path = url("show-prediction-generate", show_id=upcoming.pk)
    assert api_client.post(path).status_code in (401, 403)
    assert user_client.post(path).status_code == 403
    assert not ShowPrediction.objects.exists()
    response = staff_client.post(path)
    assert response.status_code == 201 and response.json()["available"] is True
    assert ShowPrediction.objects.filter(show=upcoming).count() == 1


def test_settings_are_read_and_changed_by_staff_only(user_client, staff_client, upcoming):
    path = url("settings")
    assert user_client.get(path).status_code == 403
    assert user_client.patch(path, {"vote_weight": 2}).status_code == 403
    body = staff_client.get(path).json()
    assert body["vote_weight"] == 1.0 and body["min_history"] == 5
    assert body["active_model_evaluation"]["summaries"]["Made-up Band"]["model"]["shows"] == 10
    changed = staff_client.patch(path, {"vote_weight": 2.5, "min_history": 8}, format="json")
    assert changed.status_code == 200
    assert changed.json()["vote_weight"] == 2.5 and changed.json()["min_history"] == 8


def test_settings_refuse_bad_values_with_a_json_error(staff_client, upcoming):
    response = staff_client.patch(url("settings"), {"vote_weight": 99}, format="json")
    assert response.status_code == 400
    assert "vote_weight" in response.json()["extra"]["fields"]
    response = staff_client.patch(url("settings"), {"min_history": "many"}, format="json")
    assert response.status_code == 400
    response = staff_client.patch(url("settings"), {"vote_weight": False}, format="json")
    assert response.status_code == 400 and "vote_weight" in response.json()["extra"]["fields"]
    assert staff_client.get(url("settings")).json()["min_history"] == 5


def test_recommendations_need_a_signed_in_fan(api_client):
    assert api_client.get(url("recommendations")).status_code in (401, 403)


def test_recommendations_follow_fans_with_the_same_artists(user_client, user):
    from django.core.cache import cache

    from mysetlist.setlists.models import Follow
    from tests.setlists.factories import ArtistFactory

    alpha, beta, gamma = (ArtistFactory(name=n) for n in ("Alpha", "Beta", "Gamma"))
    for _ in range(3):
        fan = UserFactory()
        Follow.objects.create(user=fan, artist=alpha)
        Follow.objects.create(user=fan, artist=beta)
    Follow.objects.create(user=UserFactory(), artist=gamma)
    Follow.objects.create(user=user, artist=alpha)
    beta_show = ShowFactory(artist=beta, status=Show.Status.VOTING_OPEN)
    alpha_show = ShowFactory(artist=alpha, status=Show.Status.VOTING_OPEN)
    cache.clear()
    body = user_client.get(url("recommendations")).json()
    assert body["strategy"] == "collaborative"
    assert [a["name"] for a in body["artists"]] == ["Beta"]
    assert body["artists"][0]["reason"].startswith("fans of Alpha")
    shows = {s["show_id"]: s for s in body["shows"]}
    assert shows[alpha_show.pk]["reason"] == "you follow Alpha"
    assert beta_show.pk in shows and body["shows"][0]["show_id"] == alpha_show.pk


def test_recommendations_for_a_new_fan_are_whats_trending(user_client):
    from django.core.cache import cache

    from mysetlist.setlists.services import vote_cast
    from tests.setlists.factories import SongFactory

    show = ShowFactory(status=Show.Status.VOTING_OPEN)
    song = SongFactory(artist=show.artist)
    vote_cast(user=UserFactory(), show_id=show.pk, song_id=song.pk, value=1)
    cache.clear()
    body = user_client.get(url("recommendations")).json()
    assert body["strategy"] == "trending"
    assert [a["artist_id"] for a in body["artists"]] == [show.artist_id]
    assert body["shows"][0]["show_id"] == show.pk
    assert body["shows"][0]["reason"] == "trending: 1 vote this week"


def test_generate_refuses_a_show_whose_day_has_begun(staff_client, upcoming):
    past = upcoming.artist.shows.order_by("date").first()
    response = staff_client.post(url("show-prediction-generate", show_id=past.pk))
    assert response.status_code == 409
    assert "frozen when its day began" in response.json()["message"]
    assert not ShowPrediction.objects.filter(show=past).exists()


def test_show_prediction_reads_a_stored_prediction_in_a_few_queries(
    api_client, upcoming, django_assert_max_num_queries
):
    api_client.get(url("show-prediction", show_id=upcoming.pk))  # made on the first read
    with django_assert_max_num_queries(3):  # the prediction, its songs' titles, a throttle
        response = api_client.get(url("show-prediction", show_id=upcoming.pk))
    assert response.status_code == 200 and len(response.json()["songs"]) == 36


def test_recommendations_take_a_few_queries_whatever_the_catalogue(
    user_client, user, django_assert_max_num_queries
):
    from django.core.cache import cache

    from mysetlist.setlists.models import Follow
    from tests.setlists.factories import ArtistFactory

    artists = [ArtistFactory() for _ in range(6)]
    for artist in artists:
        ShowFactory(artist=artist, status=Show.Status.VOTING_OPEN)
        for _ in range(3):
            Follow.objects.create(user=UserFactory(), artist=artist)
    Follow.objects.create(user=user, artist=artists[0])
    cache.clear()
    user_client.get(url("recommendations"))  # builds the cached artist graph
    with django_assert_max_num_queries(8):
        response = user_client.get(url("recommendations"))
    assert response.status_code == 200 and response.json()["shows"]

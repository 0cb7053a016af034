import pytest
from django.urls import reverse

from mysetlist.setlists.models import Follow, Show, Vote
from mysetlist.setlists.services import vote_cast
from tests.setlists.factories import ArtistFactory, ShowFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_artist_list_page(client):
    ArtistFactory(name="The Testers")

    response = client.get(reverse("setlists:artist-list"))

    assert response.status_code == 200
    assert "The Testers" in response.text


def test_artist_detail_page_lists_upcoming_shows(client, open_show):
    response = client.get(open_show.artist.get_absolute_url())

    assert response.status_code == 200
    assert open_show.get_absolute_url() in response.text


def test_show_page_renders_ballot_with_counts(
    client, open_show, song, django_assert_max_num_queries
):
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=song.pk, value=1)
    client.force_login(UserFactory())

    # 9 for the page (one reads the show's prediction), up to 6 for recording the page view
    # and its rollup marks (one statement on PostgreSQL); none grow with the ballot's size.
    with django_assert_max_num_queries(15):
        response = client.get(open_show.get_absolute_url())

    assert response.status_code == 200
    assert f'data-song-id="{song.pk}"' in response.text
    assert '<span class="up">1</span>' in response.text
    assert 'data-voting-open="true"' in response.text


def test_missing_show_is_a_404_page_not_a_500(client):
    response = client.get(reverse("setlists:show-detail", args=[999999]))

    assert response.status_code == 404
    assert "Not found" in response.text


def test_vote_form_casts_a_vote(client, open_show, song):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("setlists:show-vote", args=[open_show.pk]), {"song": song.pk, "value": "1"}
    )

    assert response.status_code == 302
    assert Vote.objects.get(user=user).value == 1


def test_vote_form_on_closed_show_shows_the_reason(client, song):
    show = ShowFactory(artist=song.artist, status=Show.Status.LOCKED)
    client.force_login(UserFactory())

    response = client.post(
        reverse("setlists:show-vote", args=[show.pk]), {"song": song.pk, "value": "1"}, follow=True
    )

    assert "Voting is not open for this show" in response.text
    assert not Vote.objects.exists()


def test_vote_form_garbage_is_a_message_not_a_500(client, open_show):
    client.force_login(UserFactory())

    response = client.post(
        reverse("setlists:show-vote", args=[open_show.pk]),
        {"song": "x", "value": "up"},
        follow=True,
    )

    assert response.status_code == 200
    assert "That vote was not understood." in response.text


def test_vote_form_oversized_song_id_is_a_message(client, open_show):
    client.force_login(UserFactory())

    response = client.post(
        reverse("setlists:show-vote", args=[open_show.pk]),
        {"song": "99999999999999999999", "value": "0"},
        follow=True,
    )

    assert response.status_code == 200
    assert "That vote was not understood." in response.text


def test_vote_form_needs_login(client, open_show, song):
    response = client.post(
        reverse("setlists:show-vote", args=[open_show.pk]), {"song": song.pk, "value": "1"}
    )

    assert response.status_code == 302
    assert reverse("users:login") in response["Location"]
    assert not Vote.objects.exists()


def test_follow_toggle(client, open_show):
    user = UserFactory()
    client.force_login(user)
    url = reverse("setlists:artist-follow", args=[open_show.artist.slug])

    client.post(url)
    assert Follow.objects.filter(user=user, artist=open_show.artist).exists()
    client.post(url)
    assert not Follow.objects.filter(user=user).exists()


def test_show_page_shows_the_predicted_setlist_beside_the_ballot(client):
    from predictions import services as predictions_services
    from tests.predictions.factories import band_show_open

    show = band_show_open()
    page = client.get(reverse("setlists:show-detail", args=[show.pk])).content.decode()
    assert "No prediction yet" in page  # pages only read; beat makes them
    predictions_services.predictions_refresh()
    page = client.get(reverse("setlists:show-detail", args=[show.pk])).content.decode()
    assert "Predicted setlist" in page and "About 17 songs" in page
    assert page.index('id="prediction"') < page.index('id="ballot"')
    assert "Core 1" in page and "played at 10 of the last 10 shows" in page


def test_show_page_of_a_newcomer_says_why_there_is_no_prediction(client, open_show):
    from predictions import services as predictions_services

    predictions_services.prediction_generate(show_id=open_show.pk)
    page = client.get(reverse("setlists:show-detail", args=[open_show.pk])).content.decode()
    assert "No prediction: no model has been fitted yet." in page


def test_home_page_recommends_to_a_signed_in_fan(client):
    from django.core.cache import cache

    alpha, beta = ArtistFactory(name="Alpha"), ArtistFactory(name="Beta")
    for _ in range(3):
        fan = UserFactory()
        Follow.objects.create(user=fan, artist=alpha)
        Follow.objects.create(user=fan, artist=beta)
    me = UserFactory()
    Follow.objects.create(user=me, artist=alpha)
    ShowFactory(artist=beta, status=Show.Status.VOTING_OPEN)
    cache.clear()
    assert "Recommended for you" not in client.get("/").content.decode()  # signed out
    client.force_login(me)
    page = client.get("/").content.decode()
    assert "Recommended for you" in page and "fans of Alpha follow and vote for them too" in page
    assert page.index('id="recommended"') < page.index("<h1>Artists</h1>")

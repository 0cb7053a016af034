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

    # 8 for the page, up to 5 for recording the page view and its rollup marks (one
    # statement on PostgreSQL); none grow with the ballot's size.
    with django_assert_max_num_queries(13):
        response = client.get(open_show.get_absolute_url())

    assert response.status_code == 200
    assert f'data-song-id="{song.pk}"' in response.text
    assert '<td class="up">1</td>' in response.text
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

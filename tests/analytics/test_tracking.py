import pytest
from django.urls import reverse

from analytics.models import DistinctIdLink, Event
from mysetlist.setlists.services import follow_create, vote_cast, vote_delete
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_votes_and_follows_become_events(user, open_show, song):
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=1)
    vote_cast(user=user, show_id=open_show.pk, song_id=song.pk, value=-1)
    vote_delete(user=user, show_id=open_show.pk, song_id=song.pk)
    follow_create(user=user, artist_id=open_show.artist_id)
    follow_create(user=user, artist_id=open_show.artist_id)  # already following: no event

    events = list(Event.objects.order_by("id").values_list("event", "user_id", "properties"))
    assert [name for name, _, _ in events] == [
        "vote_cast",
        "vote_cast",
        "vote_withdrawn",
        "artist_followed",
    ]
    assert {user_id for _, user_id, _ in events} == {user.pk}
    assert events[1][2] == {
        "artist_id": open_show.artist_id,
        "show_id": open_show.pk,
        "song_id": song.pk,
        "value": -1,
        "changed": True,
    }


def test_a_refused_vote_leaves_no_event(user, song):
    from mysetlist.core.exceptions import ApplicationError
    from tests.setlists.factories import ShowFactory

    closed = ShowFactory(artist=song.artist)
    with pytest.raises(ApplicationError):
        vote_cast(user=user, show_id=closed.pk, song_id=song.pk, value=1)

    assert not Event.objects.exists()


def test_page_views_are_recorded_with_an_anonymous_id(client, open_show):
    first = client.get(open_show.get_absolute_url(), HTTP_USER_AGENT=FIREFOX)
    client.get(reverse("setlists:artist-list"), HTTP_USER_AGENT=FIREFOX)
    client.get(reverse("setlists-api:artist-list"), HTTP_USER_AGENT=FIREFOX)  # API: not a page

    distinct_id = first.cookies["mysetlist_did"].value
    views = list(Event.objects.filter(event="$pageview").values_list("distinct_id", "properties"))
    show_page = {"path": open_show.get_absolute_url(), "referrer": "",
                 "artist_id": open_show.artist_id, "show_id": open_show.pk}  # fmt: skip
    assert views == [(distinct_id, show_page), (distinct_id, {"path": "/", "referrer": ""})]


@pytest.mark.parametrize("secure", [False, True])
def test_the_anonymous_id_cookie_is_secure_when_the_setting_says(client, settings, secure):
    settings.ANALYTICS_COOKIE_SECURE = secure

    response = client.get(reverse("setlists:artist-list"), HTTP_USER_AGENT=FIREFOX)

    assert bool(response.cookies["mysetlist_did"]["secure"]) is secure


def test_production_sends_the_anonymous_id_cookie_over_https_only():
    from tests.core.test_settings import PRODUCTION, run_manage

    code = "from django.conf import settings; print(settings.ANALYTICS_COOKIE_SECURE)"
    result = run_manage("shell", "--no-imports", "-c", code, env=PRODUCTION)

    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.parametrize("headers", [{"HTTP_DNT": "1"}, {"HTTP_USER_AGENT": "Googlebot/2.1"}])
def test_no_page_view_for_do_not_track_or_bots(client, headers):
    client.get(reverse("setlists:artist-list"), **headers)

    assert not Event.objects.exists()


def test_refused_consent_stops_page_views(client):
    client.cookies["mysetlist_consent"] = "denied"

    client.get(reverse("setlists:artist-list"), HTTP_USER_AGENT=FIREFOX)

    assert not Event.objects.exists()


def test_logging_in_links_the_anonymous_id_to_the_user(client):
    user = UserFactory(username="linker")
    client.get(reverse("users:login"), HTTP_USER_AGENT=FIREFOX)
    distinct_id = client.cookies["mysetlist_did"].value

    client.post(reverse("users:login"), {"username": "linker", "password": "correct horse battery"})

    assert DistinctIdLink.objects.get(distinct_id=distinct_id).user == user


def test_signing_up_is_an_event(client):
    client.post(
        reverse("users:signup"),
        {"username": "newfan", "email": "n@example.com", "password1": "a-long-unusual-passphrase",
         "password2": "a-long-unusual-passphrase"},
    )  # fmt: skip

    assert Event.objects.filter(event="signed_up").count() == 1


@pytest.mark.parametrize("forged", ["user:VICTIM", "someone-elses-id", "A" * 32, ""])
def test_logging_in_never_links_ids_the_site_did_not_hand_out(client, forged):
    from analytics.services import track

    victim = UserFactory()
    track(event="vote_cast", user=victim)
    UserFactory(username="attacker")
    forged = forged.replace("VICTIM", str(victim.pk))
    client.cookies["mysetlist_did"] = forged

    client.post(
        reverse("users:login"), {"username": "attacker", "password": "correct horse battery"}
    )

    # The forged cookie was replaced by a fresh anonymous id: only that one is linked.
    assert not DistinctIdLink.objects.filter(distinct_id=forged).exists()
    assert all(len(link.distinct_id) == 32 for link in DistinctIdLink.objects.all())
    assert client.get(reverse("analytics-api:my-event-list")).json()["count"] == 0


@pytest.mark.postgres
def test_a_tracked_event_is_one_query_django_sees(user, django_assert_num_queries):
    from analytics.services import track

    with django_assert_num_queries(1) as captured:
        track(event="vote_cast", user=user, properties={"show_id": 1})

    assert "INSERT INTO analytics_eventmessagekey" in captured.captured_queries[0]["sql"]
    assert Event.objects.get().properties == {"show_id": 1}

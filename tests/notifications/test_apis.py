"""The notifications API: one's own inbox and preferences, push subscriptions, and sends
by staff. Every endpoint needs a login; nobody reaches another user's rows."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from notifications.models import Delivery, Notification, NotificationPreference, PushSubscription
from notifications.services import notify
from tests.setlists.factories import ArtistFactory, FollowFactory, UserFactory

pytestmark = pytest.mark.django_db

CONTEXT = {
    "artist": "The Band", "show": "Chicago", "venue": "The Hall, Chicago",
    "date": "December 1, 2026", "url": "/shows/1/",
}  # fmt: skip


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def tell(users, key="show_announced:1"):
    notify(category="show_announced", user_ids=[u.pk for u in users], key=key, context=CONTEXT)


@pytest.fixture
def inbox_of(user):
    """Three notifications shown in the user's inbox, one in somebody else's."""
    other = UserFactory()
    for n in range(3):
        tell([user, other], key=f"show_announced:{n}")
    Delivery.objects.filter(channel="in_app").update(status="delivered")
    return user


URLS = [
    ("get", "notifications-api:inbox-list", {}),
    ("get", "notifications-api:inbox-count", {}),
    ("post", "notifications-api:notification-read-all", {}),
    ("post", "notifications-api:notification-read", {"notification_id": 1}),
    ("post", "notifications-api:notification-dismiss", {"notification_id": 1}),
    ("get", "notifications-api:preferences", {}),
    ("put", "notifications-api:preferences", {}),
    ("post", "notifications-api:subscribe", {}),
    ("delete", "notifications-api:subscribe", {}),
    ("post", "notifications-api:send", {}),
]


@pytest.mark.parametrize(("method", "name", "kwargs"), URLS)
def test_every_endpoint_needs_a_login(method, name, kwargs):
    response = getattr(APIClient(), method)(reverse(name, kwargs=kwargs), {}, format="json")
    assert response.status_code in (401, 403)
    assert "message" in response.json()


def test_the_inbox_lists_only_ones_own_notifications_with_their_words(
    inbox_of, django_assert_max_num_queries
):
    client = client_for(inbox_of)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("notifications-api:inbox-list"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    item = body["results"][0]
    assert item["text"] == "The Band will play The Hall, Chicago on December 1, 2026."
    assert item["url"] == "/shows/1/"
    assert item["read_at"] is None
    mine = set(Notification.objects.filter(user=inbox_of).values_list("pk", flat=True))
    assert {i["id"] for i in body["results"]} == mine


def test_read_one_read_all_and_dismiss(inbox_of):
    client = client_for(inbox_of)
    first, second, third = Notification.objects.filter(user=inbox_of).order_by("pk")

    response = client.post(reverse("notifications-api:notification-read", args=[first.pk]))
    assert response.json() == {"unread": 2}
    response = client.post(reverse("notifications-api:notification-dismiss", args=[second.pk]))
    assert response.json() == {"unread": 1}
    unread = client.get(reverse("notifications-api:inbox-list"), {"unread": "true"}).json()
    assert [i["id"] for i in unread["results"]] == [third.pk]
    assert client.post(reverse("notifications-api:notification-read-all")).json() == {"unread": 0}
    assert client.get(reverse("notifications-api:inbox-count")).json() == {"unread": 0}
    listed = client.get(reverse("notifications-api:inbox-list")).json()
    assert second.pk not in {i["id"] for i in listed["results"]}  # dismissed stays gone


def test_nobody_reads_or_dismisses_another_users_notification(inbox_of):
    stranger = client_for(UserFactory())
    theirs = Notification.objects.filter(user=inbox_of).first()

    for name in ("notifications-api:notification-read", "notifications-api:notification-dismiss"):
        response = stranger.post(reverse(name, args=[theirs.pk]))
        assert response.status_code == 404
        assert response.json()["message"] == "No such notification in your inbox."
    theirs.refresh_from_db()
    assert theirs.read_at is None and theirs.dismissed_at is None


def test_preferences_read_and_change(user):
    client = client_for(user)
    url = reverse("notifications-api:preferences")

    initial = client.get(url).json()
    assert initial["channels"]["show_announced"] == {
        "email": True, "push": True, "in_app": True, "sms": True,
    }  # fmt: skip
    assert initial["quiet_hours"] is None and initial["digest"] == "off"

    response = client.put(
        url,
        {
            "channels": {"show_announced": {"email": False}},
            "timezone": "Europe/Berlin",
            "quiet_hours": {"start": "22:00", "end": "07:30"},
            "daily_cap": 3,
            "digest": "weekly",
            "digest_hour": 18,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["channels"]["show_announced"]["email"] is False
    assert body["channels"]["show_announced"]["in_app"] is True
    assert body["timezone"] == "Europe/Berlin"
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    assert (body["daily_cap"], body["digest"], body["digest_hour"]) == (3, "weekly", 18)
    pref = NotificationPreference.objects.get(user=user)
    assert pref.disabled == ["show_announced:email"]
    user.refresh_from_db()
    assert str(user.timezone) == "Europe/Berlin"
    # A field left out keeps its value; null clears quiet hours.
    body = client.put(url, {"quiet_hours": None}, format="json").json()
    assert body["quiet_hours"] is None and body["daily_cap"] == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"channels": {"nonsense": {"email": False}}}, "channels"),
        ({"channels": {"show_announced": {"pigeon": False}}}, "channels"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        # Strings zoneinfo reads as paths into its database (each was a 500).
        *(
            ({"timezone": name}, "timezone")
            for name in [
                "UTC\u0000",
                "Europe",
                "../UTC",
                "/etc/UTC",
                "Europe//Berlin",
                ".",
                "tzdata.zi",
                "__init__.py",
                "localtime",
                "Factory",
                7,
            ]
        ),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours"),
        # Hours and minutes, as answered: seconds would be kept and never shown.
        ({"quiet_hours": {"start": "22:00:30", "end": "07:00"}}, "quiet_hours"),
        ({"digest": "hourly"}, "digest"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"daily_cap": -1}, "daily_cap"),
        ({"sms_number": "call me"}, "sms_number"),
    ],
)
def test_bad_preferences_are_refused_and_change_nothing(user, payload, field):
    client = client_for(user)
    before = client.get(reverse("notifications-api:preferences")).json()

    response = client.put(reverse("notifications-api:preferences"), payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert client.get(reverse("notifications-api:preferences")).json() == before


def test_turning_a_channel_off_drops_what_still_waits_on_it(user):
    pref = NotificationPreference.objects.create(user=user, digest="daily")
    tell([user])
    assert Delivery.objects.get(channel="email").status == "held"

    client_for(user).put(
        reverse("notifications-api:preferences"),
        {"channels": {"show_announced": {"email": False}}},
        format="json",
    )

    email = Delivery.objects.get(channel="email")
    assert email.status == "skipped" and email.response == "turned off by the user"
    assert pref.pk == NotificationPreference.objects.get(user=user).pk


def test_push_subscribe_and_unsubscribe_ones_own(user, settings):
    endpoint = "https://localhost/send/abc"
    keys = {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1X"
        "bjhazAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg",
    }  # fmt: skip
    client = client_for(user)
    url = reverse("notifications-api:subscribe")

    assert client.post(url, {"endpoint": endpoint, "keys": keys}, format="json").status_code == 201
    assert client.post(url, {"endpoint": endpoint, "keys": keys}, format="json").status_code == 201
    assert PushSubscription.objects.filter(user=user).count() == 1
    bad = client.post(url, {"endpoint": "not a url", "keys": keys}, format="json")
    assert bad.status_code == 400 and "endpoint" in bad.json()["extra"]["fields"]

    stranger = client_for(UserFactory())
    assert stranger.delete(url, {"endpoint": endpoint}, format="json").status_code == 404
    assert client.delete(url, {"endpoint": endpoint}, format="json").status_code == 204
    assert not PushSubscription.objects.exists()


def test_staff_send_to_an_artists_followers_once(django_capture_on_commit_callbacks):
    staff = UserFactory(is_staff=True)
    artist = ArtistFactory()
    fans = [FollowFactory(artist=artist).user for _ in range(2)]
    payload = {
        "category": "prediction_published",
        "key": "prediction-42",
        "context": CONTEXT,
        "artist_id": artist.pk,
    }

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(staff).post(
                reverse("notifications-api:send"), payload, format="json"
            )
        assert response.status_code == 202

    told = Notification.objects.filter(category="prediction_published")
    assert sorted(told.values_list("user_id", flat=True)) == sorted(f.pk for f in fans)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"category": "show_announced", "key": "k"}, 400),  # no audience
        ({"category": "show_announced", "key": "k", "user_ids": [1], "artist_id": 1}, 400),
        ({"category": "nope", "key": "k", "user_ids": [1]}, 400),
        ({"category": "show_announced", "key": "a b", "user_ids": [1]}, 400),
        ({"category": "show_announced", "key": "k", "user_ids": [0]}, 400),
        ({"category": "show_announced", "key": "k", "artist_id": 999999}, 404),
    ],
)
def test_bad_sends_are_refused(payload, status):
    response = client_for(UserFactory(is_staff=True)).post(
        reverse("notifications-api:send"), payload, format="json"
    )
    assert response.status_code == status
    assert response.json()["message"]
    assert not Notification.objects.exists()


def test_a_send_to_users_that_do_not_exist_is_refused(django_capture_on_commit_callbacks):
    fan = UserFactory()
    payload = {"category": "show_announced", "key": "k", "user_ids": [fan.pk, fan.pk + 1000]}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(UserFactory(is_staff=True)).post(
            reverse("notifications-api:send"), payload, format="json"
        )

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["user_ids"] == [f"No user has id {fan.pk + 1000}."]
    assert not callbacks and not Notification.objects.exists()


def test_only_staff_may_send():
    response = client_for(UserFactory()).post(
        reverse("notifications-api:send"),
        {"category": "show_announced", "key": "k", "user_ids": [1]},
        format="json",
    )
    assert response.status_code == 403

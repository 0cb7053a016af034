"""Where a notification may link: checked when it is sent (the send API and services) and
again when its tracked link is followed or its inbox entry shown."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mysetlist.core.exceptions import ApplicationError
from notifications.content.links import inbox_link, link_problem
from notifications.models import Delivery, Notification
from notifications.sending.requests import notification_send
from notifications.services import notify
from notifications.tracking.engagement import click_token
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

CONTEXT = {"show": "The Band, Chicago", "url": "/shows/1/"}


@pytest.fixture(autouse=True)
def _hosts(settings):
    settings.SITE_URL = "https://mysetlist.example"
    settings.NOTIFICATION_LINK_HOSTS = ["tickets.example.com", "shop.example.com:8443"]


@pytest.mark.parametrize(
    "url",
    [
        "/shows/1/",
        "/shows/1/?from=email#ballot",
        "https://mysetlist.example/shows/1/",
        "http://mysetlist.example/shows/1/",
        "https://tickets.example.com/band/2026",
        "https://TICKETS.example.com/band/2026",
        "https://shop.example.com:8443/merch",
    ],
)
def test_link_problem_takes_paths_on_the_site_and_configured_hosts(url):
    assert link_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "java\nscript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "https://evil.example/phish",
        "https://tickets.example.com.evil.example/",
        "https://mysetlist.example@evil.example/",
        "https://user@mysetlist.example/",
        "//evil.example/phish",
        "///evil.example/phish",
        "/\\evil.example/phish",
        "\\\\evil.example/phish",
        "https:evil.example",
        "https://shop.example.com/merch",  # configured with its port only
        "ftp://mysetlist.example/file",
        "shows/1/",
        "",
        5,
        None,
    ],
)
def test_link_problem_refuses_anything_else(url):
    assert link_problem(url)


def staff_send(context) -> object:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    fan = UserFactory()
    return client.post(
        reverse("notifications-api:send"),
        {"category": "voting_opened", "key": "k1", "context": context, "user_ids": [fan.pk]},
        format="json",
    )


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://evil.example/phish"])
def test_the_send_api_refuses_a_link_elsewhere_with_a_json_400(
    url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_send(CONTEXT | {"url": url})

    assert response.status_code == 400
    body = response.json()
    assert "url" in body["message"]
    assert list(body["extra"]["fields"]["context"]) == ["url"]
    assert not Notification.objects.exists()


def test_the_send_api_takes_a_link_to_a_configured_host(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_send(CONTEXT | {"url": "https://tickets.example.com/band"})

    assert response.status_code == 202
    assert Notification.objects.get().context["url"] == "https://tickets.example.com/band"


def test_the_send_and_fan_out_services_refuse_a_link_elsewhere():
    fan = UserFactory()
    bad = CONTEXT | {"url": "javascript:alert(1)"}

    with pytest.raises(ApplicationError) as error:
        notification_send(category="voting_opened", key="k", context=bad, user_ids=[fan.pk])
    assert list(error.value.extra["fields"]["context"]) == ["url"]
    with pytest.raises(ApplicationError):
        notify(category="voting_opened", user_ids=[fan.pk], key="k", context=bad)
    assert not Notification.objects.exists()


def stored(url: str) -> Delivery:
    """A notification sent before links were checked, with its link as it was stored."""
    fan = UserFactory()
    notify(category="voting_opened", user_ids=[fan.pk], key="k", context=CONTEXT)
    Notification.objects.update(context=CONTEXT | {"url": url})
    Delivery.objects.update(status="delivered", sent_at=timezone.now())
    return Delivery.objects.get(channel="email")


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("javascript:alert(1)", "/"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("https://tickets.example.com/band", "https://tickets.example.com/band"),
        ("https://mysetlist.example/shows/1/", "https://mysetlist.example/shows/1/"),
    ],
)
def test_the_click_redirect_goes_only_where_a_notification_may_link(client, url, location):
    email = stored(url)

    response = client.get(reverse("notifications:click", args=[click_token(email.pk)]))

    assert response.status_code == 302 and response["Location"] == location
    assert Delivery.objects.get(pk=email.pk).clicked_at is not None  # the click still counts


def test_the_inbox_shows_no_link_stored_to_elsewhere(client):
    email = stored("javascript:alert(1)")
    client.force_login(email.notification.user)

    page = client.get(reverse("notifications:inbox")).content.decode()
    api = client.get(reverse("notifications-api:inbox-list")).json()

    assert "javascript:" not in page and "<span>Voting opened" in page
    assert api["results"][0]["url"] == ""


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"url": "/shows/7/"}, "/shows/7/"),
        ({"url": "https://elsewhere.example/phish"}, ""),
        ({"url": "javascript:alert(1)"}, ""),
        ({}, ""),
    ],
)
def test_an_inbox_item_links_only_where_notifications_may(context, expected):
    # The inbox page and its live items both take their link from here.
    assert inbox_link(context) == expected

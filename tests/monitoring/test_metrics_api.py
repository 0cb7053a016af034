import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me-" + "x" * 20


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_metrics_refuse_anonymous_a_fan_and_a_wrong_token(metrics_token):
    url = reverse("monitoring-api:metrics")
    anonymous = APIClient().get(url)
    wrong = APIClient().get(url, HTTP_AUTHORIZATION="Bearer not-the-token")
    fan = APIClient()
    fan.force_authenticate(UserFactory())

    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Invalid metrics token."
    assert fan.get(url).status_code == 403


def test_metrics_refuse_every_bearer_token_while_none_is_set(settings):
    settings.METRICS_TOKEN = ""

    response = APIClient().get(
        reverse("monitoring-api:metrics"), HTTP_AUTHORIZATION="Bearer "
    )  # fmt: skip

    assert response.status_code == 401


def test_metrics_count_real_requests_by_route_pattern(metrics_token, open_show):
    client = APIClient()
    for _ in range(3):
        assert (
            client.get(reverse("setlists-api:show-detail", args=[open_show.pk])).status_code == 200
        )
    assert client.get("/api/no-such-thing/12345").status_code == 404

    response = client.get(reverse("monitoring-api:metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = samples(response.content.decode())
    shows = [
        s for s in found
        if s.name == "mysetlist_http_requests_total"
        and s.labels == {"route": "/api/shows/<id:show_id>/", "method": "GET", "status": "2xx"}
    ]  # fmt: skip
    assert shows and shows[0].value >= 3
    routes = {s.labels.get("route") for s in found if s.name.startswith("mysetlist_http_")}
    assert "<unmatched>" in routes
    assert not any("12345" in route for route in routes if route)  # never the raw path
    assert any(s.name == "mysetlist_http_request_duration_seconds_bucket" for s in found)
    live = {s.name: s.value for s in found if s.name.startswith("mysetlist_live_")}
    assert live["mysetlist_live_http_requests_per_minute"] >= 4 / 5


def test_staff_may_read_the_metrics():
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))

    response = staff.get(reverse("monitoring-api:metrics"))

    assert response.status_code == 200
    assert any(f.name == "mysetlist_live_http_requests_per_minute"
               for f in text_string_to_metric_families(response.content.decode()))  # fmt: skip

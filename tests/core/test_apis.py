import pytest
import yaml
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mysetlist.core import health

pytestmark = pytest.mark.django_db


def test_health_checks_every_service(api_client):
    response = api_client.get(reverse("core-api:health"))

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert set(body["checks"]) == {
        "database", "cache", "channel_layer", "broker",
        "monitoring_store", "celery_workers", "celery_queues", "ingestion_lag",
    }  # fmt: skip
    critical = {
        name: check for name, check in body["checks"].items() if check.get("critical", True)
    }
    assert set(critical) == {"database", "cache", "channel_layer", "broker", "monitoring_store"}
    assert all(check["ok"] for check in critical.values())


def test_health_reports_a_check_that_is_not_critical_without_failing(api_client, settings):
    from django.utils import timezone

    from analytics.models import RollupRun

    settings.MONITORING_INGESTION_LAG_MAX_MS = 1000
    RollupRun.objects.create(
        kind=RollupRun.Kind.LIVE, granularity="minute", finished_at=timezone.now(), buckets=1,
        max_lag_ms=5000,
    )  # fmt: skip

    response = api_client.get(reverse("core-api:health"))

    assert response.status_code == 200
    assert response.json()["ok"] is True
    lag = response.json()["checks"]["ingestion_lag"]
    assert lag["ok"] is False and lag["critical"] is False
    assert lag["error"] == "ingestion lag p99 over 1000 ms"


def test_health_reports_a_failing_service_as_503(api_client, monkeypatch):
    def broken():
        raise ConnectionError("redis://secret-host:6379 refused")

    monkeypatch.setitem(health.CHECKS, "cache", broken)

    response = api_client.get(reverse("core-api:health"))

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {
        "ok": False,
        "ms": response.json()["checks"]["cache"]["ms"],
        "error": "ConnectionError",
    }
    assert "secret-host" not in response.text


def test_status_is_for_staff(api_client, open_show):
    from tests.setlists.factories import UserFactory

    anonymous = api_client.get(reverse("core-api:status"))
    api_client.force_authenticate(UserFactory(is_staff=True))
    body = api_client.get(reverse("core-api:status")).json()

    assert anonymous.status_code in (401, 403)
    assert "database" not in anonymous.json()
    assert body["version"]
    assert body["counts"]["shows_voting_open"] == 1
    assert body["database"] in ("postgresql", "sqlite")
    assert "http_error_rate" in body["live"] and "celery_queue_depth" in body["live"]
    assert body["live"]["http_requests_per_minute"] > 0  # the two requests above, at least


def test_anonymous_is_answered_401_naming_the_token_scheme(api_client):
    response = api_client.get(reverse("setlists-api:vote-list"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "extra": {},
    }


def test_a_bad_token_is_answered_401_even_where_anyone_may_read(api_client):
    response = api_client.get(reverse("setlists-api:artist-list"), HTTP_AUTHORIZATION="Token x")

    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token."


def test_signed_in_but_not_allowed_is_answered_403(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    assert api_client.get(reverse("setlists-api:vote-list")).status_code == 200
    assert api_client.get(reverse("core-api:status")).status_code == 403


def test_a_session_still_signs_in_and_needs_its_csrf_token_to_write(user, open_show):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    listed = client.get(reverse("setlists-api:vote-list"))
    followed = client.post(
        reverse("setlists-api:follow-create"), {"artist": open_show.artist_id}, format="json"
    )

    assert listed.status_code == 200
    assert followed.status_code == 403
    assert "CSRF" in followed.json()["message"]


def test_openapi_schema_describes_the_api(api_client):
    response = api_client.get(reverse("schema"))

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert "/api/votes/cast/" in paths
    assert "429" in paths["/api/votes/cast/"]["post"]["responses"]
    assert "/api/shows/{show_id}/ballot/" in paths


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get(reverse("docs"))

    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "cdn.jsdelivr" not in response.text

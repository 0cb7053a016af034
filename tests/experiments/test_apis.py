import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from experiments import services
from experiments.models import Experiment, Exposure, Phase
from tests.experiments.factories import experiment
from tests.setlists.factories import ArtistFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = {
    "key": "cta-copy",
    "name": "Call to action copy",
    "hypothesis": "Naming the show gets more votes.",
    "variants": [{"key": "control", "weight": 0.5}, {"key": "named", "weight": 0.5}],
}


def url(name, **kwargs):
    return reverse(f"experiments-api:{name}", kwargs=kwargs)


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "experiment-list", {}),
        ("post", "experiment-list", {}),
        ("get", "experiment-detail", {"key": "x"}),
        ("patch", "experiment-detail", {"key": "x"}),
        ("post", "experiment-start", {"key": "x"}),
        ("post", "experiment-stop", {"key": "x"}),
        ("post", "experiment-conclude", {"key": "x"}),
        ("put", "experiment-kill", {"key": "x"}),
        ("put", "experiment-force", {"key": "x"}),
    ],
)
def test_staff_endpoints_refuse_visitors_and_fans(method, name, kwargs, user_client):
    assert getattr(APIClient(), method)(url(name, **kwargs), {}).status_code == 401
    assert getattr(user_client, method)(url(name, **kwargs), {}).status_code == 403


def test_create_then_read(staff_client, staff):
    response = staff_client.post(url("experiment-list"), BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["phases"] == []
    assert [v["key"] for v in body["variants"]] == ["control", "named"]
    assert body["status_changes"][0]["changed_by"] == staff.username
    listed = staff_client.get(url("experiment-list")).json()
    assert [e["key"] for e in listed] == ["cta-copy"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"variants": [{"key": "control", "weight": 0.5}, {"key": "b", "weight": 0.6}]}, "weights"),
        ({"variants": [{"key": "control", "weight": 1}]}, "variants"),
        ({"variants": [{"key": "control", "weight": True}, {"key": "b", "weight": 0}]}, "variants"),
        ({"coverage": 1.5}, "coverage"),
        ({"primary_metric": "no-such-metric"}, "primary_metric"),
        ({"key": "not a slug"}, "key"),
        ({"countries": ["USA"]}, "countries"),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(staff_client, change, field):
    response = staff_client.post(url("experiment-list"), {**BODY, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert not Experiment.objects.exists()


def test_create_refuses_a_used_key(staff_client):
    experiment(key="cta-copy")
    response = staff_client.post(url("experiment-list"), BODY, format="json")
    assert response.status_code == 400
    assert response.json()["extra"]["fields"] == {"key": "already used"}


def test_unknown_key_is_404_everywhere(staff_client):
    assert staff_client.get(url("experiment-detail", key="nope")).status_code == 404
    assert staff_client.post(url("experiment-start", key="nope")).status_code == 404
    assert staff_client.put(url("experiment-kill", key="nope")).status_code == 404


def test_lifecycle_through_the_api(staff_client):
    staff_client.post(url("experiment-list"), BODY, format="json")
    started = staff_client.post(url("experiment-start", key="cta-copy"), {"note": "go"})
    assert started.status_code == 200
    assert started.json()["status"] == "running" and len(started.json()["phases"]) == 1
    stopped = staff_client.post(url("experiment-stop", key="cta-copy"))
    assert stopped.json()["status"] == "stopped"
    concluded = staff_client.post(
        url("experiment-conclude", key="cta-copy"), {"winner": "named", "conclusion": "Named won"}
    )
    assert concluded.json()["status"] == "concluded" and concluded.json()["winner"] == "named"
    again = staff_client.post(url("experiment-start", key="cta-copy"))
    assert again.status_code == 409
    assert "concluded" in again.json()["message"]
    assert Experiment.objects.get().status == "concluded"


def test_patch_of_a_running_split_needs_a_new_phase(staff_client):
    experiment(key="cta-copy")
    change = {"variants": [{"key": "control", "weight": 0.3}, {"key": "b", "weight": 0.7}]}
    refused = staff_client.patch(url("experiment-detail", key="cta-copy"), change, format="json")
    assert refused.status_code == 409
    assert "new_phase" in refused.json()["extra"]["fields"]
    no_reason = staff_client.patch(
        url("experiment-detail", key="cta-copy"), {**change, "new_phase": True}, format="json"
    )
    assert no_reason.status_code == 400
    assert Phase.objects.count() == 1
    done = staff_client.patch(
        url("experiment-detail", key="cta-copy"),
        {**change, "new_phase": True, "reason": "more traffic to b"},
        format="json",
    )
    assert done.status_code == 200
    assert [p["number"] for p in done.json()["phases"]] == [1, 2]


def test_patch_sets_targeting_and_statistics_and_refuses_unknown_fields(staff_client):
    experiment(key="cta-copy", start=False)
    artist = ArtistFactory()
    detail = url("experiment-detail", key="cta-copy")

    unknown = staff_client.patch(detail, {"follows": artist.pk, "sequentail": False}, format="json")
    assert unknown.status_code == 400
    assert set(unknown.json()["extra"]["fields"]) == {"follows", "sequentail"}
    done = staff_client.patch(
        detail,
        {"follows_artist": artist.pk, "sequential": False, "prior_proper": True,
         "prior_stddev": 0.1, "sequential_tuning": 2000},
        format="json",
    )  # fmt: skip
    assert done.status_code == 200, done.content
    changed = Experiment.objects.get()
    assert changed.follows_artist == artist and changed.sequential is False
    assert (changed.prior_proper, changed.prior_stddev, changed.sequential_tuning) == (
        True, 0.1, 2000,
    )  # fmt: skip
    missing = staff_client.patch(detail, {"follows_artist": 999999}, format="json")
    assert missing.status_code == 400 and "follows_artist" in missing.json()["extra"]["fields"]


def test_kill_switch_and_force(staff_client):
    experiment(key="cta-copy", weights=(0.0, 1.0))
    fan = UserFactory()
    assert services.get_variant(key="cta-copy", user=fan).variant == "b"
    assert staff_client.put(url("experiment-kill", key="cta-copy")).json()["killed"] is True
    assert services.get_variant(key="cta-copy", user=fan).variant == "control"
    assert staff_client.delete(url("experiment-kill", key="cta-copy")).json()["killed"] is False
    forced = staff_client.put(
        url("experiment-force", key="cta-copy"), {"user": fan.pk, "variant": "control"}
    )
    assert forced.json() == {"user": fan.pk, "variant": "control"}
    assert services.get_variant(key="cta-copy", user=fan).reason == "forced"
    unknown = staff_client.put(
        url("experiment-force", key="cta-copy"), {"user": fan.pk, "variant": "zzz"}
    )
    assert unknown.status_code == 404
    no_variant = staff_client.put(url("experiment-force", key="cta-copy"), {"user": fan.pk})
    assert no_variant.status_code == 400
    lifted = staff_client.delete(url("experiment-force", key="cta-copy"), {"user": fan.pk})
    assert lifted.json()["variant"] is None
    assert services.get_variant(key="cta-copy", user=fan).reason == "assigned"


def test_assignments_lists_running_experiments_without_exposing(user_client, user):
    experiment(key="one", weights=(0.0, 1.0))
    experiment(key="two", weights=(1.0, 0.0))
    experiment(key="draft", start=False)
    response = user_client.get(url("assignment-list"))
    assert response.status_code == 200
    got = {a["experiment"]: a["variant"] for a in response.json()}
    assert got == {"one": "b", "two": "control"}
    assert not Exposure.objects.exists()


def test_assignments_for_a_visitor_use_the_anonymous_cookie(settings):
    experiment(key="one", weights=(0.5, 0.5))
    client = APIClient()
    first = client.get(url("assignment-list"))
    minted = first.cookies[settings.ANALYTICS_DISTINCT_ID_COOKIE].value
    assert first.json()[0]["reason"] == "assigned"
    for anonymous in (minted, "0f" * 16, "ab" * 16):
        client.cookies[settings.ANALYTICS_DISTINCT_ID_COOKIE] = anonymous
        got = client.get(url("assignment-list")).json()[0]
        assert got["variant"] == services.get_variant(key="one", distinct_id=anonymous).variant


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_DNT": "1"}, {"HTTP_USER_AGENT": "Googlebot/2.1 (+http://www.google.com/bot.html)"}],
)
def test_a_browser_that_may_not_be_tracked_sees_the_control_uncounted(headers, user_client):
    experiment(key="hero", weights=(0.0, 1.0), surface="content", placement="home-hero")
    got = user_client.get(reverse("content-api:content-detail", args=["home-hero"]), **headers)
    assert (got.json()["variant"], got.json()["reason"]) == ("control", "not tracked")
    assert not Exposure.objects.exists()


def test_content_answers_the_placement_variant_and_records_the_exposure(settings):
    experiment(
        key="hero", weights=(0.0, 1.0), surface=Experiment.Surface.CONTENT, placement="home-hero"
    )
    client = APIClient()
    client.cookies[settings.ANALYTICS_DISTINCT_ID_COOKIE] = "9f" * 16
    response = client.get(reverse("content-api:content-detail", args=["home-hero"]))
    assert response.status_code == 200
    assert response.json()["variant"] == "b" and response.json()["payload"] == {"text": "b"}
    assert Exposure.objects.get().subject == "9f" * 16


def test_content_of_an_unknown_placement_is_404():
    response = APIClient().get(reverse("content-api:content-detail", args=["nowhere"]))
    assert response.status_code == 404
    assert "nowhere" in response.json()["message"]

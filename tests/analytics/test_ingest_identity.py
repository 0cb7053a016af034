"""Who ingested events are: only a secret key speaks for an account or links ids to one."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.metrics import funnel, funnel_first_time
from analytics.models import DistinctIdLink, Event, Person
from analytics.services import ingest_key_create
from tests.analytics.passes import exact_pass_all
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
BROWSER = "0123456789abcdef0123456789abcdef"  # an id of the form the site's cookie holds


def send(client, events, key, *, in_url=False):
    body = json.dumps({"batch": events})
    url = reverse("analytics-api:event-ingest")
    if in_url:  # as the tracker sends, with sendBeacon
        return client.post(f"{url}?key={key}", body, content_type="text/plain",
                           HTTP_USER_AGENT=FIREFOX)  # fmt: skip
    return client.post(url, body, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_USER_AGENT=FIREFOX)  # fmt: skip


def at(minutes_ago: int) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()


@pytest.fixture
def public_key() -> str:
    return ingest_key_create(name="web", is_public=True)[1]


def test_a_public_key_cannot_send_events_as_an_account(client, public_key):
    victim = UserFactory()
    events = [
        {"event": "$click", "distinct_id": BROWSER, "message_id": "mine"},
        {"event": "vote_cast", "distinct_id": f"user:{victim.pk}", "message_id": "forged"},
        {"event": "$click", "distinct_id": "user:not-a-number", "message_id": "odd"},
    ]

    response = send(client, events, public_key, in_url=True)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    errors = response.json()["errors"]
    assert [(e["index"], e["message_id"]) for e in errors] == [(1, "forged"), (2, "odd")]
    assert all("public key cannot send events as an account" in e["message"] for e in errors)
    assert list(Event.objects.values_list("message_id", flat=True)) == ["mine"]
    client.force_login(victim)
    assert client.get(reverse("analytics-api:my-event-list")).json()["count"] == 0


@pytest.mark.parametrize(
    "name,fields",
    [("$identify", {"$anon_distinct_id": BROWSER}), ("signed_up", {"anonymous_id": BROWSER}),
     ("$create_alias", {"alias": BROWSER})],
)  # fmt: skip
def test_a_public_key_cannot_link_ids(client, public_key, name, fields):
    UserFactory()
    event = {"event": name, "distinct_id": "someone-else", "message_id": "m", "properties": fields}

    response = send(client, [event, {**event, "message_id": "n", "properties": {}}], public_key)

    assert response.json()["accepted"] == 1  # the same event without the link is kept
    [error] = response.json()["errors"]
    assert error["index"] == 0 and "cannot link" in error["message"]
    assert not DistinctIdLink.objects.exists()


def test_a_secret_key_sends_events_as_an_account(client, ingest_secret):
    fan = UserFactory()
    events = [
        {"event": "vote_cast", "distinct_id": f"user:{fan.pk}", "message_id": "a"},
        {"event": "vote_cast", "distinct_id": f"user:{fan.pk + 1000}", "message_id": "b"},
        {"event": "vote_cast", "distinct_id": f"user:0{fan.pk}", "message_id": "c"},
    ]

    response = send(client, events, ingest_secret)

    assert response.json()["accepted"] == 1
    assert [(e["index"], e["message"]) for e in response.json()["errors"]] == [
        (1, f"no account has the id {fan.pk + 1000}"),
        (2, "'distinct_id' user:<id> names an account by its number"),
    ]
    assert Event.objects.get().user_id == fan.pk
    client.force_login(fan)
    assert client.get(reverse("analytics-api:my-event-list")).json()["count"] == 1


@pytest.mark.parametrize(
    "identify",
    [
        {"event": "identify", "anonymous_id": "8a1c7c52-3f0e-4c1e-9b7a-1f2e3d4c5b6a"},  # Segment
        {"event": "$identify", "properties": {"$anon_distinct_id": "8a1c7c52-3f0e-4c1e"}},
        {"event": "alias", "previous_id": "8a1c7c52-3f0e"},
        {"event": "identify", "anonymousId": "4f0d2b9e-0c41-4d55-a1de-54f1a2b3c4d5"},
        {"event": "alias", "previousId": "4f0d2b9e-0c41"},
    ],
    ids=[
        "segment identify",
        "posthog identify",
        "segment alias",
        "segment identify camelCase",
        "segment alias camelCase",
    ],
)
def test_a_sign_up_funnel_fed_through_the_api_converts(client, ingest_secret, identify):
    fan = UserFactory()
    named = ("anonymous_id", "previous_id", "anonymousId", "previousId")
    anonymous = next((identify[k] for k in named if k in identify), None)
    anonymous = anonymous or identify["properties"]["$anon_distinct_id"]
    account = f"user:{fan.pk}"
    browsing = [
        {"event": "$pageview", "distinct_id": anonymous, "message_id": f"view-{n}",
         "timestamp": at(30 - n)}
        for n in range(3)
    ]  # fmt: skip
    assert send(client, browsing, ingest_secret).json()["accepted"] == 3
    exact_pass_all()  # the browsing is rolled up as an anonymous person first

    signing_up = [
        {**identify, "distinct_id": account, "message_id": "who", "timestamp": at(5)},
        {"event": "signed_up", "distinct_id": account, "message_id": "joined", "timestamp": at(4)},
    ]
    response = send(client, signing_up, ingest_secret)
    exact_pass_all()

    assert response.json() == {"accepted": 2, "duplicates": 0, "filtered": 0, "errors": []}
    assert DistinctIdLink.objects.get(distinct_id=anonymous).user == fan
    window, start = dt.timedelta(hours=1), timezone.now() - dt.timedelta(hours=1)
    end = timezone.now() + dt.timedelta(minutes=1)
    sequence = funnel(steps=["$pageview", "signed_up"], window=window, start=start, end=end)
    first_time = funnel_first_time(
        steps=["$pageview", "signed_up"], window=window, start=start, end=end
    )
    assert [s.persons for s in sequence[None]] == [1, 1]
    assert [s.persons for s in first_time] == [1, 1]
    assert list(Person.objects.values_list("key", flat=True)) == [f"u:{fan.pk}"]


@pytest.mark.parametrize(
    "event,message",
    [
        ({"event": "identify", "distinct_id": "anon", "anonymous_id": "x"}, "'distinct_id' user"),
        ({"event": "identify", "distinct_id": "ACCOUNT", "anonymous_id": "user:1"}, "anonymous id"),
        ({"event": "alias", "distinct_id": "ACCOUNT", "previous_id": 5}, "'previous_id' must be"),
    ],
)
def test_identify_events_that_cannot_link_say_why(client, ingest_secret, event, message):
    fan = UserFactory()
    event = {**event, "distinct_id": event["distinct_id"].replace("ACCOUNT", f"user:{fan.pk}")}

    response = send(client, [event], ingest_secret)

    assert response.status_code == 400
    [error] = response.json()["extra"]["errors"]
    assert message in error["message"]
    assert not DistinctIdLink.objects.exists()


def test_an_anonymous_id_stays_with_the_first_account_it_was_linked_to(client, ingest_secret):
    first, second = UserFactory(), UserFactory()
    identify = {"event": "identify", "anonymous_id": "shared-device"}

    for n, user in enumerate([first, second]):
        send(client, [{**identify, "distinct_id": f"user:{user.pk}", "message_id": f"i{n}"}],
             ingest_secret)  # fmt: skip

    assert DistinctIdLink.objects.get(distinct_id="shared-device").user == first
    assert Event.objects.count() == 2

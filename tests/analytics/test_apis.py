import gzip
import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from analytics.ingest.authentication import IngestKeyRateThrottle
from analytics.ingest.ratelimit import window_reset
from analytics.models import Event, EventMessageKey, IngestKey
from analytics.selectors import ingest_key_forget
from analytics.services import ingest_key_create

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def url():
    return reverse("analytics-api:event-ingest")


def post(client, body, secret, **extra):
    data = body if isinstance(body, bytes) else json.dumps(body)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}", "HTTP_USER_AGENT": FIREFOX, **extra}
    return client.post(url(), data, content_type="application/json", **headers)


def event(n, **fields):
    return {"event": "page", "distinct_id": f"anon-{n}", "message_id": f"m-{n}", **fields}


def test_single_event_is_stored(client, ingest_secret):
    response = post(
        client, event(1, properties={"path": "/"}), ingest_secret, REMOTE_ADDR="198.51.100.23"
    )

    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "filtered": 0, "errors": []}
    stored = Event.objects.get()
    assert (stored.event, stored.distinct_id, stored.properties) == (
        "page",
        "anon-1",
        {"path": "/"},
    )
    assert stored.ip == "198.51.100.0"


def test_batch_with_bad_events_keeps_the_good_ones(client, ingest_secret):
    body = {"batch": [event(1), {"event": "x", "message_id": "bad"}, event(2)]}

    response = post(client, body, ingest_secret)

    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert response.json()["errors"] == [
        {"index": 1, "message_id": "bad", "message": "'distinct_id' is required"}
    ]
    assert Event.objects.count() == 2


def test_same_message_id_is_stored_once_across_requests(client, ingest_secret):
    first = post(client, {"batch": [event(1), event(2)]}, ingest_secret)
    again = post(client, {"batch": [event(2), event(3), event(3)]}, ingest_secret)

    assert first.json()["accepted"] == 2
    assert (again.json()["accepted"], again.json()["duplicates"]) == (1, 2)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-2", "m-3"]
    assert EventMessageKey.objects.count() == 3


def test_a_repeated_single_event_is_stored_once(client, ingest_secret):
    codes = [post(client, event(7), ingest_secret).json() for _ in range(3)]

    assert [(c["accepted"], c["duplicates"]) for c in codes] == [(1, 0), (0, 1), (0, 1)]
    assert Event.objects.filter(message_id="m-7").count() == 1


def test_message_ids_are_scoped_to_their_sender(client, ingest_secret):
    from analytics.services import ingest_key_create

    _, other_secret = ingest_key_create(name="another consumer")

    mine = post(client, event(1), ingest_secret)
    theirs = post(client, event(1), other_secret)  # same message id, another sender

    assert (mine.json()["accepted"], theirs.json()["accepted"]) == (1, 1)
    assert Event.objects.filter(message_id="m-1").count() == 2


def test_all_bad_is_a_400_that_names_each_event(client, ingest_secret):
    response = post(client, {"batch": [{"event": "x"}, 7]}, ingest_secret)

    assert response.status_code == 400
    assert response.json()["message"] == "No event could be kept."
    assert [e["index"] for e in response.json()["extra"]["errors"]] == [0, 1]


def test_bot_events_are_dropped(client, ingest_secret):
    response = post(client, event(1), ingest_secret, HTTP_USER_AGENT="Googlebot/2.1")

    assert response.json()["filtered"] == 1
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "body,status,message",
    [
        (b"{not json", 400, "not valid JSON"),
        (b'"a string"', 400, "event object"),
        (json.dumps({"batch": [event(n) for n in range(1001)]}).encode(), 413, "at most 1000"),
        (
            json.dumps({"batch": [event(1, properties={"x": "y" * 1_000_001})]}).encode(),
            413,
            "larger",
        ),
    ],
)
def test_unusable_bodies_get_clear_errors(client, ingest_secret, body, status, message):
    response = post(client, body, ingest_secret)

    assert response.status_code == status
    assert message in response.json()["message"]
    assert not Event.objects.exists()


def test_gzip_bodies_are_accepted(client, ingest_secret):
    body = gzip.compress(json.dumps({"batch": [event(1), event(2)]}).encode())

    response = post(client, body, ingest_secret, HTTP_CONTENT_ENCODING="gzip")

    assert response.json()["accepted"] == 2


def test_gzip_bombs_are_refused(client, ingest_secret):
    bomb = gzip.compress(b'{"batch": [' + b" " * 5_000_000 + b"]}")

    response = post(client, bomb, ingest_secret, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413


def test_broken_gzip_is_a_400(client, ingest_secret):
    response = post(client, b"not gzip", ingest_secret, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 400


def test_ingest_needs_a_valid_active_key(client, ingest_secret):
    missing = client.post(url(), json.dumps(event(1)), content_type="application/json")
    wrong = post(client, event(1), "mk_wrong")
    IngestKey.objects.update(is_active=False)
    cache.delete(f"analytics:ingest-source:{IngestKey.hash(ingest_secret)}")  # else a minute
    ingest_key_forget()
    disabled = post(client, event(2), ingest_secret)

    assert missing.status_code in (401, 403)
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Unknown or disabled ingest key."
    assert disabled.status_code == 401
    assert not Event.objects.exists()


def test_a_public_key_in_the_query_string_works_for_send_beacon(client):
    _, public = ingest_key_create(name="web", is_public=True)

    response = client.post(
        f"{url()}?key={public}", json.dumps(event(1)), content_type="text/plain",
        HTTP_USER_AGENT=FIREFOX,
    )  # fmt: skip

    assert response.json()["accepted"] == 1


def test_a_secret_key_in_the_query_string_is_refused(client, ingest_secret):
    response = client.post(
        f"{url()}?key={ingest_secret}", json.dumps(event(1)), content_type="text/plain",
        HTTP_USER_AGENT=FIREFOX,
    )  # fmt: skip

    assert response.status_code == 401
    assert "may not be sent in the URL" in response.json()["message"]
    assert not Event.objects.exists()


def test_ingest_is_throttled_per_key(client, ingest_secret, monkeypatch):
    monkeypatch.setattr(IngestKeyRateThrottle, "THROTTLE_RATES", {"ingest": "2/min"})
    scope = f"ingest:{IngestKey.objects.get().pk}"
    window_reset(scope=scope, rate="2/min")  # a window outlives the test in a shared cache

    codes = [post(client, event(n), ingest_secret).status_code for n in range(3)]

    window_reset(scope=scope, rate="2/min")
    assert codes == [200, 200, 429]

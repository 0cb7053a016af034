"""Input meant to break things: it is refused one event at a time and breaks nothing later."""

import datetime as dt
import gzip
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.metrics import trending
from analytics.models import Event, EventRollup, RollupDirty, RollupRun
from analytics.rollups.passes import rollups_process
from analytics.selectors import _memo, ingest_key_get
from analytics.services import events_ingest
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def good(n):
    return {"event": "e", "distinct_id": "d", "message_id": f"good-{n}"}


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"event": "a\u0000b", "distinct_id": "d"}, "NUL"),
        ({"event": "e", "distinct_id": "d", "properties": {"k\u0000": 1}}, "NUL"),
        ({"event": "e", "distinct_id": "d", "context": {"page": ["x\u0000"]}}, "NUL"),
        ({"event": "e", "distinct_id": "d", "timestamp": "1999-12-31T23:59:59Z"}, "before 2000"),
        ({"event": "e", "distinct_id": "d", "timestamp": "0001-01-01T00:00:00+14:00"}, "before"),
        (
            {
                "event": "e",
                "distinct_id": "d",
                "timestamp": "2026-01-01T00:00:00Z",
                "sent_at": "9999-12-31T23:59:59+14:00",
            },
            "too far apart",
        ),  # fmt: skip
        (
            {
                "event": "e",
                "distinct_id": "d",
                "timestamp": "9999-12-31T23:59:59+14:00",
                "sent_at": "2000-01-01T00:00:00Z",
            },
            "too far apart",
        ),  # fmt: skip
    ],
)
def test_a_bad_event_is_refused_alone_through_the_api(client, ingest_secret, bad, message):
    body = json.dumps({"batch": [good(1), bad, good(2)]})

    response = client.post(
        reverse("analytics-api:event-ingest"), body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_secret}", HTTP_USER_AGENT=FIREFOX,
    )  # fmt: skip

    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    [error] = response.json()["errors"]
    assert error["index"] == 1 and message in error["message"]
    assert Event.objects.count() == 2


def test_long_property_values_that_agree_on_64_characters_share_one_cell():
    now = timezone.now()
    for n, tail in enumerate("xy"):
        events_ingest(
            body={
                "event": "e",
                "distinct_id": f"d{n}",
                "properties": {"artist_id": "a" * 64 + tail},
            },
            received_at=now,
        )

    rollups_process(granularity="minute")

    cell = EventRollup.objects.get(granularity="minute", dimension="artist_id")
    assert (cell.value, cell.count, cell.persons) == ("a" * 64, 2, 2)
    assert not RollupDirty.objects.filter(granularity="minute").exists()


def test_trending_skips_ids_that_are_not_numbers():
    now = timezone.now()
    for value in ("abc", "7"):
        events_ingest(
            body={"event": "vote_cast", "distinct_id": "d", "properties": {"show_id": value}},
            received_at=now,
        )
    rollups_process(granularity="minute")

    assert [row["id"] for row in trending(kind="show", now=now)] == [7]


def test_a_backlog_of_marks_drains_a_chunk_per_transaction():
    now = timezone.now()
    for minutes in range(5):
        moment = (now - dt.timedelta(minutes=minutes * 3)).isoformat()
        events_ingest(body={"event": "e", "distinct_id": "d", "timestamp": moment}, received_at=now)

    exact = RollupRun.objects.filter(kind="exact")
    first = rollups_process(granularity="minute", max_buckets=2, budget_seconds=0)
    assert first.buckets == 2 and exact.count() == 1

    rest = rollups_process(granularity="minute", max_buckets=2)
    assert rest.buckets == 3 and exact.count() == 3
    assert not RollupDirty.objects.filter(granularity="minute").exists()
    assert EventRollup.objects.filter(granularity="minute", dimension="").count() == 5


def test_made_up_ingest_keys_are_not_remembered():
    before = len(_memo)
    for n in range(50):
        assert ingest_key_get(secret=f"mk_made_up_{n}") is None

    assert len(_memo) == before


@pytest.mark.parametrize(
    "name,params",
    [
        ("trends", {"event": "e", "date_from": "9999-12-31", "date_to": "9999-12-31"}),
        (
            "trends",
            {"event": "e", "date_from": "0001-01-01T00:00:00+14:00", "date_to": "2026-01-01"},
        ),
        ("active-users", {"date_from": "0001-01-01", "date_to": "0001-01-02"}),
        ("retention", {"date_from": "9999-12-01", "date_to": "9999-12-31"}),
        ("funnels", {"steps": ["a", "b"], "date_from": "9999-12-01", "date_to": "9999-12-30"}),
        ("sessions", {"date_from": "9999-12-31", "date_to": "9999-12-31"}),
        ("web-vitals", {"date_from": "1900-01-01", "date_to": "1900-01-02"}),
    ],
)
def test_extreme_dates_are_a_400_not_a_500(client, name, params):
    client.force_login(UserFactory(is_staff=True))

    response = client.get(reverse(f"analytics-api:{name}"), params)

    assert response.status_code == 400
    assert "Use a date from 2000-01-01" in json.dumps(response.json()["extra"])


@pytest.mark.parametrize("offset", ["+16:00", "+23:59", "-23:59:59", "+01:00:00.5"])
@pytest.mark.parametrize(
    "name,params",
    [
        ("trends", {"event": "e"}),
        ("sessions", {}),
        ("paths", {}),
        ("web-vitals", {}),
        ("funnels", {"steps": ["a", "b"]}),
        ("funnels", {"steps": ["a", "b"], "mode": "first_time"}),
        ("funnels", {"steps": ["a", "b"], "breakdown": "show_id"}),
    ],
)
def test_moments_with_offsets_postgresql_refuses_are_read_in_utc(client, name, params, offset):
    """Python takes offsets up to 24 hours and with fractions of a second; PostgreSQL takes
    neither, so a moment goes to the database in UTC."""
    client.force_login(UserFactory(is_staff=True))
    moment = f"2026-12-01T20:00:00{offset}"

    response = client.get(
        reverse(f"analytics-api:{name}"), {**params, "date_from": moment, "date_to": "2026-12-03"}
    )

    assert response.status_code == 200, response.content[:300]


UNSTORABLE = [b'{"n":1e999}', b'{"n":[-1e999]}', b'{"n":' + b"7" * 400 + b"}",
              b'{"a":"\\ud800"}', b'{"\\udc00":1}']  # fmt: skip


@pytest.mark.parametrize("where", ["properties", "context"])
@pytest.mark.parametrize("value", UNSTORABLE)
@pytest.mark.parametrize("gzipped", [False, True])
def test_an_unstorable_value_refuses_its_event_alone(client, ingest_secret, where, value, gzipped):
    bad = b'{"event":"e","distinct_id":"d","message_id":"bad","%s":%s}' % (where.encode(), value)
    body = b'{"batch":[%s,%s,%s]}' % (
        json.dumps(good(1)).encode(),
        bad,
        json.dumps(good(2)).encode(),
    )
    headers = {"HTTP_CONTENT_ENCODING": "gzip"} if gzipped else {}

    response = client.post(
        reverse("analytics-api:event-ingest"), gzip.compress(body) if gzipped else body,
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {ingest_secret}",
        HTTP_USER_AGENT=FIREFOX, **headers,
    )  # fmt: skip

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    [error] = response.json()["errors"]
    assert (error["index"], error["message_id"]) == (1, "bad")
    assert "double's range" in error["message"] or "lone surrogate" in error["message"]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["good-1", "good-2"]


def test_a_single_unstorable_event_is_a_400_that_says_why(client, ingest_secret):
    body = b'{"event":"e","distinct_id":"d","message_id":"\\ud800","context":{"user_agent":1e400}}'

    response = client.post(
        reverse("analytics-api:event-ingest"), body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_secret}", HTTP_USER_AGENT=FIREFOX,
    )  # fmt: skip

    assert response.status_code == 400
    assert response.json()["message"] == "No event could be kept."
    [error] = response.json()["extra"]["errors"]
    assert error["message_id"] is None  # not repeated: JSON cannot hold it
    assert not Event.objects.exists()


@pytest.mark.parametrize("depth", [65, 1000])
@pytest.mark.parametrize("where", ["properties", "context"])
@pytest.mark.parametrize("parsed", [False, True], ids=["plain", "parsed"])
def test_an_event_nested_too_deep_is_refused_alone(
    client, ingest_secret, where, depth, parsed, caplog
):
    # With `n`, a shape the plain path leaves to the parsed one.
    deep = {"event": "e", "distinct_id": "d", **({"n": 1e100} if parsed else {})}
    deep["message_id"] = "deep"  # last: the nesting goes after it
    nested = "[" * (depth - 1) + "]" * (depth - 1)  # with the event and `where`: depth + 1
    body = json.dumps({"batch": [good(1), deep, good(2)]}).replace(
        '"message_id": "deep"}', f'"message_id": "deep", "{where}": {{"k": {nested}}}}}'
    )

    response = client.post(
        reverse("analytics-api:event-ingest"), body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_secret}", HTTP_USER_AGENT=FIREFOX,
    )  # fmt: skip

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    [error] = response.json()["errors"]
    assert error["index"] == 1 and "deeper than 64 levels" in error["message"]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["good-1", "good-2"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_an_event_nested_to_the_limit_is_kept(client, ingest_secret):
    nested = "[" * 62 + "]" * 62  # under the event and its properties: 64 levels in all
    body = (
        json.dumps({"event": "e", "distinct_id": "d"})[:-1] + f', "properties": {{"k": {nested}}}}}'
    )

    response = client.post(
        reverse("analytics-api:event-ingest"), body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_secret}", HTTP_USER_AGENT=FIREFOX,
    )  # fmt: skip

    assert response.status_code == 200, response.content
    assert Event.objects.count() == 1

"""The lean WSGI capture path, driven as a WSGI server drives it: environ in, bytes out."""

import gzip
import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from analytics.ingest.capture import DRAIN_BYTES
from analytics.ingest.ratelimit import window_reset
from analytics.ingest.validation import MAX_BODY_BYTES
from analytics.models import Event, IngestKey
from analytics.services import ingest_key_create
from mysetlist.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def call(
    body: bytes, *, method="POST", path="/api/analytics/events", length=True, stream=None,
    **headers,
):  # fmt: skip
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": stream or io.BytesIO(body),
        "CONTENT_TYPE": "application/json",
        "HTTP_USER_AGENT": FIREFOX,
        "REMOTE_ADDR": "203.0.113.9",
        **headers,
    }
    if length:
        environ["CONTENT_LENGTH"] = str(len(body))
    setup_testing_defaults(environ)
    status = {}

    def start_response(line, response_headers):
        status["line"], status["headers"] = line, dict(response_headers)

    payload = b"".join(application(environ, start_response))
    return int(status["line"].split()[0]), json.loads(payload) if payload else None, status


def auth(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def event(n):
    return {"event": "page", "distinct_id": f"d{n}", "message_id": f"m{n}"}


def test_capture_stores_events_without_django_middleware(ingest_secret):
    status, body, meta = call(
        json.dumps({"batch": [event(1), event(2)]}).encode(), **auth(ingest_secret)
    )

    assert status == 200
    assert body == {"accepted": 2, "duplicates": 0, "filtered": 0, "errors": []}
    assert "Set-Cookie" not in meta["headers"]  # no session, no tracking cookie
    assert Event.objects.get(message_id="m1").ip == "203.0.113.0"


def test_capture_and_the_drf_view_answer_alike(ingest_secret, client):
    payload = json.dumps({"batch": [event(1), {"event": "x"}]})
    wsgi = call(payload.encode(), **auth(ingest_secret))
    Event.objects.all().delete()
    from analytics.models import EventMessageKey

    EventMessageKey.objects.all().delete()
    drf = client.post(
        "/api/analytics/events", payload, content_type="application/json",
        HTTP_USER_AGENT=FIREFOX, **auth(ingest_secret),
    )  # fmt: skip

    assert (wsgi[0], wsgi[1]) == (drf.status_code, drf.json())


@pytest.mark.parametrize(
    "body,key,headers,status,message",
    [
        (b"{}", None, {}, 401, "Send an ingest key"),
        (b"{}", "mk_nope", {}, 401, "Unknown or disabled"),
        (b"{oops", "valid", {}, 400, "not valid JSON"),
        (b'{"batch": []}', "valid", {}, 400, "empty"),
        (b"x" * 1_000_001, "valid", {}, 413, "larger than"),
        (b"not gzip", "valid", {"HTTP_CONTENT_ENCODING": "gzip"}, 400, "not valid gzip"),
    ],
)
def test_capture_errors_are_clear_json(ingest_secret, body, key, headers, status, message):
    if key is not None:
        headers = {**headers, **auth(ingest_secret if key == "valid" else key)}

    got, answer, _ = call(body, **headers)

    assert got == status
    assert message in answer["message"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "size,length,headers,left",
    [
        (2_000_000, True, {}, 0),  # read to its end, then refused
        (2_000_000, False, {}, 0),  # chunked: the same
        (DRAIN_BYTES + 1, True, {}, DRAIN_BYTES + 1),  # too large to read: left unread
        (MAX_BODY_BYTES + 1 + DRAIN_BYTES + 5, False, {}, 5),  # chunked: drained up to a cap
        (2_000_000, True, {"HTTP_EXPECT": "100-continue"}, 2_000_000),  # nothing was sent
    ],
)
def test_a_refused_body_is_read_to_its_end_first(ingest_secret, size, length, headers, left):
    """So that the sender, still writing, reads the answer instead of a reset connection."""
    stream = io.BytesIO(b" " * size)

    status, answer, _ = call(b"", stream=stream, length=False, **auth(ingest_secret), **headers,
                             **({"CONTENT_LENGTH": str(size)} if length else {}))  # fmt: skip

    assert (status, "larger than" in answer["message"]) == (413, True)
    assert size - stream.tell() == left


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer mk_nope"}])
def test_a_body_refused_before_it_is_read_is_drained(headers):
    stream = io.BytesIO(b" " * 500_000)

    status, _, _ = call(stream.getvalue(), stream=stream, **headers)

    assert (status, stream.tell()) == (401, 500_000)


def test_capture_reads_chunked_bodies_without_content_length(ingest_secret):
    status, body, _ = call(json.dumps(event(1)).encode(), length=False, **auth(ingest_secret))

    assert (status, body["accepted"]) == (200, 1)


def test_capture_takes_only_a_public_key_in_the_query_string(ingest_secret):
    _, public = ingest_key_create(name="web", is_public=True)
    body = json.dumps(event(1)).encode()

    secret_status, secret_answer, _ = call(body, QUERY_STRING=f"key={ingest_secret}")
    public_status, _, _ = call(body, QUERY_STRING=f"key={public}")

    assert secret_status == 401 and "in the URL" in secret_answer["message"]
    assert public_status == 200
    assert Event.objects.count() == 1


def test_capture_takes_gzip(ingest_secret):
    packed = gzip.compress(json.dumps(event(1)).encode())

    status, body, _ = call(packed, HTTP_CONTENT_ENCODING="gzip", **auth(ingest_secret))

    assert (status, body["accepted"]) == (200, 1)


@pytest.mark.parametrize("value", [b"1e999", b"-" + b"9" * 400, b'"\\ud800"'])
def test_capture_refuses_an_unstorable_value_with_its_event_alone(ingest_secret, value):
    bad = b'{"event":"e","distinct_id":"d","message_id":"bad","properties":{"n":%s}}' % value
    body = b'{"batch":[%s,%s]}' % (json.dumps(event(1)).encode(), bad)

    status, answer, _ = call(
        gzip.compress(body), HTTP_CONTENT_ENCODING="gzip", **auth(ingest_secret)
    )

    assert (status, answer["accepted"]) == (200, 1)
    assert [(e["index"], e["message_id"]) for e in answer["errors"]] == [(1, "bad")]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["m1"]


def test_a_gzip_body_cut_short_is_refused(ingest_secret):
    packed = gzip.compress(json.dumps(event(1)).encode())[:-4]  # its length field cut off

    status, body, _ = call(packed, HTTP_CONTENT_ENCODING="gzip", **auth(ingest_secret))

    assert (status, "not valid gzip" in body["message"]) == (400, True)
    assert not Event.objects.exists()


def test_capture_is_throttled_per_key(ingest_secret, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "ingest": "2/h"}
    }  # fmt: skip
    scope = f"ingest:{IngestKey.objects.get().pk}"
    window_reset(scope=scope, rate="2/h")  # a window outlives the test in a shared Redis

    codes = [call(json.dumps(event(n)).encode(), **auth(ingest_secret))[0] for n in range(3)]

    window_reset(scope=scope, rate="2/h")
    assert codes == [200, 200, 429]


def test_other_requests_go_to_django(ingest_secret):
    status, _, meta = call(b"", method="GET", path="/api/analytics/events", **auth(ingest_secret))

    assert status == 405  # Django's DRF view: only POST


@pytest.mark.postgres
def test_capture_replaces_a_connection_the_database_closed(ingest_secret, monkeypatch):
    from django.db import connection

    # Kept between requests, as the WSGI server does.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    assert call(json.dumps(event(1)).encode(), **auth(ingest_secret))[0] == 200
    with connection.cursor() as cursor:  # a restart, a failover: the server ends the session
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])

    failed, failure, _ = call(json.dumps(event(2)).encode(), **auth(ingest_secret))
    retried, body, _ = call(json.dumps(event(2)).encode(), **auth(ingest_secret))

    assert (failed, failure["message"]) == (503, "Events could not be stored; retry.")
    assert (retried, body["accepted"]) == (200, 1)
    assert set(Event.objects.values_list("message_id", flat=True)) == {"m1", "m2"}


def psycopg_connection():
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
        dbname=settings["NAME"], password=settings["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip


def test_a_high_limit_is_counted_locally_between_visits_to_redis(settings):
    from analytics.ingest import ratelimit

    scope, rate = "test:local", "10000/h"
    window_reset(scope=scope, rate=rate)
    name = ratelimit.window_key(scope, rate)

    allowed = [ratelimit.rate_allowed(scope=scope, rate=rate) for _ in range(50)]
    shared = int(ratelimit._client().get(name) or 0) if settings.REDIS_URL else None

    window_reset(scope=scope, rate=rate)
    assert all(allowed)
    if settings.REDIS_URL:  # the first request and each hundredth of the limit are told
        assert 1 <= shared < 50


def test_threads_of_one_process_never_pass_the_limit_together(settings):
    import threading

    from analytics.ingest import ratelimit

    scope, rate = "test:threads", "1000/h"
    window_reset(scope=scope, rate=rate)
    allowed, lock = [], threading.Lock()

    def hammer():
        n = sum(ratelimit.rate_allowed(scope=scope, rate=rate) for _ in range(250))
        with lock:
            allowed.append(n)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    window_reset(scope=scope, rate=rate)

    assert sum(allowed) == 1000  # of 2,000 asked

"""The production HTTP server, granian, serving the project on the test database: pages and
event capture answer as they do in process; connections of threads granian retires are
closed by PostgreSQL, and a live thread replaces such a connection before using it."""

import gzip
import http.client
import json
import os
import socket
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection

from analytics.ingest.validation import MAX_BODY_BYTES
from analytics.models import Event
from analytics.services import ingest_key_create
from tests.benchmarks.common import free_port, start_server, stop

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

APP_NAME = f"mysetlist-test-server-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@contextmanager
def granian(*, conn_max_age: int, thread_idle: int):
    """granian on the test database, threads retired after `thread_idle` seconds (5 at the
    least), connections kept `conn_max_age` seconds; PostgreSQL closes sessions idle twice
    that long."""
    db = settings.DATABASES["default"]
    name = connection.settings_dict["NAME"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}?application_name={APP_NAME}"
    port = free_port()
    server = start_server(
        "granian", port, url, workers=1, threads=2,
        DATABASE_CONN_MAX_AGE=str(conn_max_age), DATABASE_IDLE_SESSION_TIMEOUT="",
        DATABASE_STARTUP_OPTIONS="true", GRANIAN_BLOCKING_THREADS_IDLE_TIMEOUT=str(thread_idle),
    )  # fmt: skip
    try:
        yield port
    finally:
        stop(server)


@pytest.fixture
def server():
    with granian(conn_max_age=60, thread_idle=60) as port:
        yield port


def request(port, method, path, body=None, headers=None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def capture(port, secret, body, **headers):
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json", **headers}
    status, payload = request(port, "POST", "/api/analytics/events", body, headers)
    return status, json.loads(payload)


def declare_oversize(port, secret):
    """POST headers that declare a body past the limit and wait for 100 Continue, send none
    of the body, read the answer."""
    head = (
        "POST /api/analytics/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\nExpect: 100-continue\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def server_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]
        )
        return cursor.fetchone()[0]


def event(n: int) -> dict:
    return {"event": "page", "distinct_id": f"d{n}", "message_id": f"served-{n}"}


def test_granian_serves_pages_and_captures_events(server):
    _, secret = ingest_key_create(name="server")

    status, page = request(server, "GET", "/")
    assert status == 200 and b"<html" in page

    assert capture(server, secret, json.dumps(event(1)))[0] == 200
    batch = gzip.compress(json.dumps({"batch": [event(2), event(3)]}).encode())
    status, body = capture(server, secret, batch, **{"Content-Encoding": "gzip"})
    assert (status, body["accepted"]) == (200, 2)
    # No Content-Length: the body is read to its end all the same.
    status, payload = request(
        server, "POST", "/api/analytics/events", iter([json.dumps(event(4)).encode()]),
        {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}, chunked=True,
    )  # fmt: skip
    assert (status, json.loads(payload)["accepted"]) == (200, 1)

    status, body = capture(server, secret, b'{"event": ')
    assert status == 400 and "not valid JSON" in body["message"]
    # Refused bodies are read to their end before the answer, which the sender then reads
    # (granian closes the connection after answering: a sender still writing would fail).
    oversize = b" " * (6 * MAX_BODY_BYTES)
    for _ in range(3):
        status, body = capture(server, secret, oversize)
        assert status == 413 and "larger than" in body["message"]
    status, payload = request(
        server, "POST", "/api/analytics/events", iter([oversize[:600_000], oversize[600_000:]]),
        {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}, chunked=True,
    )  # fmt: skip
    assert status == 413 and b"larger than" in payload
    status, payload = request(server, "POST", "/api/analytics/events", oversize)
    assert status == 401 and b"ingest key" in payload
    # A sender that waits for 100 Continue is answered from its headers alone.
    status, body = declare_oversize(server, secret)
    assert status == 413 and "larger than" in body["message"]

    stored = set(Event.objects.filter(event="page").values_list("message_id", flat=True))
    assert stored == {"served-1", "served-2", "served-3", "served-4"}


def burst(port: int, secret: str, first: int):
    for n in range(first, first + 6):
        status, body = capture(port, secret, json.dumps(event(n)))
        assert (status, body["accepted"]) == (200, 1), body
        assert request(port, "GET", "/")[0] == 200


def test_a_live_thread_replaces_the_connection_the_server_closed():
    _, secret = ingest_key_create(name="server")
    with granian(conn_max_age=1, thread_idle=60) as port:
        burst(port, secret, 0)
        assert 1 <= server_sessions() <= 2  # one per thread, kept between requests

        # Idle past the session timeout (2 s): the threads live on, PostgreSQL has closed
        # their connections, and Django replaces them before use (the capture path, which
        # skips health checks, too).
        time.sleep(3)
        assert server_sessions() == 0
        burst(port, secret, 100)

    assert Event.objects.filter(event="page").count() == 12


def test_retired_threads_leave_no_connection_open():
    _, secret = ingest_key_create(name="server")
    # Threads retire after 5 s idle, their connections are closed by the server after 8 s.
    with granian(conn_max_age=4, thread_idle=5) as port:
        burst(port, secret, 0)
        assert 1 <= server_sessions() <= 2

        deadline = time.monotonic() + 15
        while server_sessions() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert server_sessions() == 0
        burst(port, secret, 100)  # new threads, new connections
        assert 1 <= server_sessions() <= 2

"""The production HTTP server, granian, serving the project on the test database: pages and
event capture answer as they do in process, and connections of threads granian retires are
closed by PostgreSQL, while a live thread's replaces its own before using it."""

import gzip
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from analytics.models import Event
from analytics.services import ingest_key_create

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
APP_NAME = f"mysetlist-test-server-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
THREAD_IDLE_SECONDS = 5  # granian's shortest: a thread idle this long is retired
CONN_MAX_AGE = 1  # so PostgreSQL closes sessions idle for 2 s


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server():
    db = settings.DATABASES["default"]
    name = connection.settings_dict["NAME"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}?application_name={APP_NAME}"
    port = free_port()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "mysetlist.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": url,
        "DATABASE_CONN_MAX_AGE": str(CONN_MAX_AGE),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1",
         "--blocking-threads", "2", "--blocking-threads-idle-timeout", str(THREAD_IDLE_SECONDS),
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "mysetlist.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "granian exited"
                assert time.monotonic() < deadline, "granian did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


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
    status, body = capture(server, secret, b" " * (1024 * 1024 + 1))
    assert status == 413

    stored = set(Event.objects.filter(event="page").values_list("message_id", flat=True))
    assert stored == {"served-1", "served-2", "served-3", "served-4"}


def test_connections_do_not_outlive_idle_threads_nor_fail_live_ones(server):
    _, secret = ingest_key_create(name="server")

    def burst(first: int):
        for n in range(first, first + 6):
            status, body = capture(server, secret, json.dumps(event(n)))
            assert (status, body["accepted"]) == (200, 1), body
            assert request(server, "GET", "/")[0] == 200

    burst(0)
    assert 1 <= server_sessions() <= 2  # one per thread, kept between requests

    # Idle past the session timeout, not yet past the thread's: the threads are alive and
    # PostgreSQL has closed their connections, which Django replaces before use.
    time.sleep(2 * CONN_MAX_AGE + 1)
    assert server_sessions() == 0
    burst(100)

    # Idle past the threads' retirement: nothing of theirs stays open.
    time.sleep(THREAD_IDLE_SECONDS + 2 * CONN_MAX_AGE + 1)
    assert server_sessions() == 0
    burst(200)
    assert 1 <= server_sessions() <= 2
    assert Event.objects.filter(event="page").count() == 18

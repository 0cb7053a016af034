"""Processes sharing PROMETHEUS_MULTIPROC_DIR: a scrape sums every process's samples."""

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from monitoring import instrumentation

ROOT = Path(__file__).resolve().parents[2]

# A process of the platform's own: it counts requests with monitoring's metrics, as a
# granian worker or a Celery pool process does, then ends.
CHILD = """
import sys
from monitoring import instrumentation
for _ in range(int(sys.argv[1])):
    instrumentation.HTTP_REQUESTS.labels("/api/shows/", "GET", "2xx").inc()
    instrumentation.HTTP_LATENCY.labels("/api/shows/", "GET").observe(0.02)
instrumentation.WEBSOCKETS.labels("ws/shows").inc(int(sys.argv[1]))
print(__import__("os").getpid())
"""


def run_child(folder: Path, count: int) -> int:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(count)], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return int(done.stdout.strip())


def values(text: str, name: str) -> dict:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_a_scrape_sums_the_samples_of_every_process(tmp_path):
    first = run_child(tmp_path, 2)
    second = run_child(tmp_path, 3)
    assert first != second
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process

    text = instrumentation.exposition(path=str(tmp_path)).decode()

    requests = values(text, "mysetlist_http_requests_total")
    assert requests[(("method", "GET"), ("route", "/api/shows/"), ("status", "2xx"))] == 5
    latency = values(text, "mysetlist_http_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", "/api/shows/"))] == 5


def test_an_ended_process_keeps_its_counts_and_loses_its_live_gauges(tmp_path, monkeypatch):
    run_child(tmp_path, 2)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    before = instrumentation.exposition(path=str(tmp_path)).decode()
    assert values(before, "mysetlist_websocket_connections")[(("route", "ws/shows"),)] == 2

    instrumentation.dead_processes_forget()  # as each process does at its start

    after = instrumentation.exposition(path=str(tmp_path)).decode()
    assert values(after, "mysetlist_websocket_connections") == {}
    assert sum(values(after, "mysetlist_http_requests_total").values()) == 2

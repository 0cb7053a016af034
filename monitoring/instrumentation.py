"""The Prometheus side of the live figures: counters and histograms each process updates,
and the text /api/metrics serves.

Multi-process: with PROMETHEUS_MULTIPROC_DIR set (before this module is imported, as the
settings read .env first), every process (granian's workers, daphne, Celery's pool) writes
its samples to files there and a scrape of any web process sums them all. The folder is
emptied once before the processes start (`make run`, or the deploy's start script), never
by a process at its own start, which would wipe the samples of the others; a process that
ends has its live gauges removed (`process_dead`) and its counters kept, so totals never go
back.
"""

from __future__ import annotations

import glob
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as PROCESS_REGISTRY

from monitoring.quantiles import LATENCY_BOUNDS

__all__ = ["CONTENT_TYPE_LATEST", "exposition", "multiproc_dir"]

HTTP_REQUESTS = Counter(
    "mysetlist_http_requests",
    "HTTP requests answered, by route pattern, method and status class.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "mysetlist_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method.",
    ["route", "method"],
    buckets=LATENCY_BOUNDS,
)
CELERY_TASKS = Counter(
    "mysetlist_celery_tasks",
    "Celery tasks finished, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
)
CELERY_TASK_LATENCY = Histogram(
    "mysetlist_celery_task_duration_seconds",
    "Time a Celery task ran, by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
CELERY_HEARTBEAT = Gauge(
    "mysetlist_celery_worker_heartbeat_timestamp_seconds",
    "Unix time of each Celery worker's last heartbeat.",
    ["worker"],
    multiprocess_mode="max",
)
WEBSOCKETS = Gauge(
    "mysetlist_websocket_connections",
    "Open websocket connections, by route.",
    ["route"],
    multiprocess_mode="livesum",
)


def multiproc_dir() -> str | None:
    """Return the folder processes share samples in, or None when each keeps its own."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_dead(pid: int) -> None:
    """Drop the live gauges of an ended process (its counters stay: totals never go back)."""
    if multiproc_dir():
        multiprocess.mark_process_dead(pid)


def dead_processes_forget() -> None:
    """Drop the live gauges of processes no longer running, which ended without being told
    (a killed worker): each process calls this at its start."""
    folder = multiproc_dir()
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    for path in glob.glob(os.path.join(folder, "gauge_live*_*.db")):
        pid = int(path.rsplit("_", 1)[1].removesuffix(".db"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, folder)
        except PermissionError:  # someone else's process: alive
            pass


def exposition(*, extra=(), path: str | None = None) -> bytes:
    """Return every process's samples (this one's alone without a shared folder), plus the
    `extra` collectors, in Prometheus's text format."""
    folder = path or multiproc_dir()
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessCollector())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


class _ProcessCollector:
    """This process's own metrics, for a registry of its own beside the extra collectors."""

    def collect(self):
        yield from PROCESS_REGISTRY.collect()

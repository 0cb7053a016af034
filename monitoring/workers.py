"""Celery's figures: tasks finished by outcome and timed (in whichever process ran them),
each worker's heartbeat and the queues' depth, sampled by the worker's main process."""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import signals
from django.conf import settings

from monitoring import instrumentation, live

logger = logging.getLogger(__name__)

_started: dict[str, float] = {}
_broker = None
# kombu's Redis transport keeps a queue's messages of priority 0 under its own name and
# the others under the name plus a separator and the priority step.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_names() -> list[str]:
    """Return the queues the platform's workers serve."""
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, settings.LIVE_QUEUE, settings.ROLLUPS_QUEUE})


def queue_depths() -> dict[str, int] | None:
    """Return how many messages wait in each queue, or None when the broker is not Redis
    (the embedded file-system broker keeps no count to read)."""
    global _broker
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if _broker is None:
        import redis

        _broker = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    names = queue_names()
    pipe = _broker.pipeline(transaction=False)
    for name in names:
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(name + suffix)
    lengths = pipe.execute()
    step = len(_PRIORITY_SUFFIXES)
    return {name: sum(lengths[i * step : (i + 1) * step]) for i, name in enumerate(names)}


def heartbeat(worker: str) -> None:
    """Record that `worker` is alive, with the queues' depth as it sees them."""
    now = time.time()
    instrumentation.CELERY_HEARTBEAT.labels(worker).set(now)
    values: dict[str, float] = {f"worker:{worker}": now}
    depths = queue_depths()
    if depths is not None:
        values.update({f"queue:{name}": depth for name, depth in depths.items()})
    live.values_set(values, at=now)


def _beat_forever(worker: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            heartbeat(worker)
        except Exception:
            logger.warning("worker heartbeat not recorded", exc_info=True)
        stop.wait(settings.MONITORING_HEARTBEAT_SECONDS)


_stop = threading.Event()


def worker_ready(sender=None, **kwargs) -> None:
    """Start the worker's heartbeat, in its main process: a pool process may be replaced."""
    name = getattr(sender, "hostname", None) or f"worker@{os.getpid()}"
    threading.Thread(
        target=_beat_forever, args=(name, _stop), name="monitoring-heartbeat", daemon=True
    ).start()


def worker_shutdown(**kwargs) -> None:
    _stop.set()


def task_prerun(task_id=None, **kwargs) -> None:
    _started[task_id] = time.perf_counter()


def task_postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if started is not None and task is not None:
        instrumentation.CELERY_TASK_LATENCY.labels(task.name).observe(time.perf_counter() - started)


def _outcome(task_name: str, outcome: str) -> None:
    instrumentation.CELERY_TASKS.labels(task_name, outcome).inc()
    try:
        live.counts_add({f"task_{outcome}": 1})
    except Exception:
        logger.warning("task outcome not recorded", exc_info=True)


def task_success(sender=None, **kwargs) -> None:
    _outcome(getattr(sender, "name", "unknown"), "success")


def task_failure(sender=None, **kwargs) -> None:
    _outcome(getattr(sender, "name", "unknown"), "failure")


def task_retry(sender=None, **kwargs) -> None:
    _outcome(getattr(sender, "name", "unknown"), "retry")


def process_shutdown(pid=None, **kwargs) -> None:
    """A pool process ends: drop its live gauges."""
    instrumentation.process_dead(pid or os.getpid())


def connect() -> None:
    """Connect the receivers to Celery's signals (once: each has a dispatch uid)."""
    for signal, receiver in (
        (signals.worker_ready, worker_ready),
        (signals.worker_shutdown, worker_shutdown),
        (signals.task_prerun, task_prerun),
        (signals.task_postrun, task_postrun),
        (signals.task_success, task_success),
        (signals.task_failure, task_failure),
        (signals.task_retry, task_retry),
        (signals.worker_process_shutdown, process_shutdown),
    ):
        signal.connect(receiver, weak=False, dispatch_uid=f"monitoring.{receiver.__name__}")

"""Live figures every process shares: a hash per minute in Redis (requests, errors,
latency buckets, task outcomes, heartbeats, samples) and a HyperLogLog per minute of who
made requests, each kept for `MONITORING_MINUTES_TTL` seconds.

Prometheus counters live in each process; alert rules and dashboards ask "how many over
these five minutes, in every process", which only a shared store answers. A request adds
to it in one pipelined round trip. Without Redis (the embedded `make run`), a store in this
process stands in: each process then sees only its own figures.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping

from django.conf import settings

_client = None
_client_lock = threading.Lock()


def minute_of(moment: dt.datetime | float) -> int:
    """Return the minute since the epoch that holds `moment` (an aware datetime or a Unix
    time)."""
    seconds = moment.timestamp() if isinstance(moment, dt.datetime) else moment
    return int(seconds // 60)


def minutes_between(start: dt.datetime, end: dt.datetime) -> range:
    """Return the minutes that begin in [start, end), as the analytics rollups cut them."""
    return range(math.ceil(start.timestamp() / 60), math.ceil(end.timestamp() / 60))


def _prefix() -> str:
    return settings.MONITORING_KEY_PREFIX


def _minute_key(minute: int) -> str:
    return f"{_prefix()}:m:{minute}"


def _visitors_key(minute: int) -> str:
    return f"{_prefix()}:v:{minute}"


class _LocalStore:
    """This process's stand-in for Redis, for runs without REDIS_URL."""

    def __init__(self):
        self.lock = threading.Lock()
        self.hashes: dict[str, dict[str, str]] = defaultdict(dict)
        self.visitors: dict[str, set[str]] = defaultdict(set)

    def clear(self):
        with self.lock:
            self.hashes.clear()
            self.visitors.clear()


_local = _LocalStore()


def _after_fork_in_child() -> None:
    """A forked process (a server forked by its parent, a Celery pool child) starts with its
    own client and locks: another thread of the parent may have held them at the fork, and
    the child would wait on them for ever."""
    global _client, _client_lock
    _client, _client_lock = None, threading.Lock()
    _local.lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _redis():
    global _client
    if not settings.REDIS_URL:
        return None
    if _client is None:
        import redis

        with _client_lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
                )
    return _client


def counts_add(
    counts: Mapping[str, int], *, visitor: str | None = None, at: float | None = None
) -> None:
    """Add `counts` to the fields of this minute's hash and `visitor` to its visitors, in
    one round trip."""
    minute = minute_of(time.time() if at is None else at)
    key, ttl = _minute_key(minute), settings.MONITORING_MINUTES_TTL
    client = _redis()
    if client is None:
        with _local.lock:
            fields = _local.hashes[key]
            for field, amount in counts.items():
                fields[field] = str(int(fields.get(field, 0)) + amount)
            if visitor:
                _local.visitors[_visitors_key(minute)].add(visitor)
        return
    pipe = client.pipeline(transaction=False)
    for field, amount in counts.items():
        pipe.hincrby(key, field, amount)
    pipe.expire(key, ttl)
    if visitor:
        pipe.pfadd(_visitors_key(minute), visitor)
        pipe.expire(_visitors_key(minute), ttl)
    pipe.execute()


def values_set(values: Mapping[str, int | float], *, at: float | None = None) -> None:
    """Set fields of this minute's hash (a sample: a queue's depth, a process's websocket
    count, a worker's heartbeat), the last write of the minute winning."""
    key = _minute_key(minute_of(time.time() if at is None else at))
    client = _redis()
    if client is None:
        with _local.lock:
            _local.hashes[key].update({field: str(value) for field, value in values.items()})
        return
    pipe = client.pipeline(transaction=False)
    pipe.hset(key, mapping=dict(values))
    pipe.expire(key, settings.MONITORING_MINUTES_TTL)
    pipe.execute()


def minutes_read(start: dt.datetime, end: dt.datetime) -> dict[int, dict[str, str]]:
    """Return each minute's fields for the minutes that begin in [start, end), in one round
    trip (minutes with nothing recorded are empty)."""
    minutes = list(minutes_between(start, end))
    client = _redis()
    if client is None:
        with _local.lock:
            return {m: dict(_local.hashes.get(_minute_key(m), {})) for m in minutes}
    pipe = client.pipeline(transaction=False)
    for minute in minutes:
        pipe.hgetall(_minute_key(minute))
    return {
        minute: {field.decode(): value.decode() for field, value in found.items()}
        for minute, found in zip(minutes, pipe.execute(), strict=True)
    }


def visitors_count(start: dt.datetime, end: dt.datetime) -> int:
    """Return how many distinct visitors made requests in the minutes that begin in
    [start, end) (HyperLogLog: within about 1%)."""
    keys = [_visitors_key(minute) for minute in minutes_between(start, end)]
    if not keys:
        return 0
    client = _redis()
    if client is None:
        with _local.lock:
            return len(set().union(*(_local.visitors.get(key, set()) for key in keys)))
    return client.pfcount(*keys)


def fields_sum(minutes: Mapping[int, Mapping[str, str]], prefix: str) -> Counter:
    """Return the sums over the minutes of the fields that start with `prefix`, by the rest
    of their names."""
    sums: Counter = Counter()
    for fields in minutes.values():
        for field, value in fields.items():
            if field.startswith(prefix):
                sums[field[len(prefix) :]] += float(value)
    return sums


def store_check() -> str | None:
    """Return an error when the shared store cannot be written and read back."""
    client = _redis()
    if client is None:
        return None
    key = f"{_prefix()}:health"
    pipe = client.pipeline(transaction=False)
    pipe.set(key, "ok", ex=10)
    pipe.get(key)
    answer = pipe.execute()[1]
    return None if answer == b"ok" else "the monitoring store did not return what was stored"

"""A per-key request counter for event capture, cheap enough to ask on every request.

Fixed windows counted in Redis with one pipelined INCRBY + EXPIRE through a client kept for
the process (Django's Redis cache builds a new client for every call, which costs more
than the count itself). A process counts locally up to a hundredth of the limit, or for
at most 50 ms, before it adds its count to Redis: with a high limit most requests ask no
one, and the processes together overshoot by at most a hundredth of the limit each. Below
100 a window, every request is counted in Redis. Without Redis, Django's cache counts.
"""

import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_local = threading.local()
SLACK_SHARE = 100  # a process may count 1/100 of the limit before telling Redis
SYNC_SECONDS = 0.05


@dataclass
class _Window:
    name: str
    known: int = 0  # the shared count when last added to
    pending: int = 0  # counted here since
    synced: float = 0.0


_windows: dict[str, _Window] = {}
_windows_lock = threading.Lock()


def _client() -> redis.Redis:
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = redis.Redis.from_url(settings.REDIS_URL)
    return client


def window_key(scope: str, rate: str, now: float | None = None) -> str:
    seconds = _PERIODS[rate.split("/")[1][0]]
    return f"mysetlist:rate:{scope}:{int((now or time.time()) // seconds)}"


def rate_allowed(*, scope: str, rate: str) -> bool:
    """Count one request against `rate` ("100/s", "6000/m") for scope; True while within."""
    limit, period = rate.split("/")
    seconds = _PERIODS[period[0]]
    now = time.time()
    name = window_key(scope, rate, now)
    if settings.REDIS_URL:
        return _redis_allowed(scope, name, int(limit), seconds, now)
    cache.add(name, 0, timeout=seconds + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr: a fresh window
        count = 1
    return count <= int(limit)


def _redis_allowed(scope: str, name: str, limit: int, seconds: int, now: float) -> bool:
    with _windows_lock:
        window = _windows.get(scope)
        if window is None or window.name != name:
            if len(_windows) > 10_000:  # keys come and go; forget the idle ones at times
                _windows.clear()
            window = _windows[scope] = _Window(name)
        window.pending += 1
        fresh = now - window.synced < SYNC_SECONDS
        if window.synced and fresh and window.pending <= limit // SLACK_SHARE:
            return window.known + window.pending <= limit
        pending, window.pending = window.pending, 0
    pipe = _client().pipeline(transaction=False)
    pipe.incrby(name, pending)
    pipe.expire(name, seconds + 1, nx=True)
    count = pipe.execute()[0]
    with _windows_lock:
        window.known, window.synced = count, now
    return count <= limit


def window_reset(*, scope: str, rate: str) -> None:
    name = window_key(scope, rate)
    with _windows_lock:
        _windows.pop(scope, None)
    if settings.REDIS_URL:
        _client().delete(name)
    else:
        cache.delete(name)

"""A per-key request counter for event capture, cheap enough to ask on every request.

Fixed windows counted in Redis with one pipelined INCR + EXPIRE through a client kept for
the process (Django's Redis cache builds a new client for every call, which costs more
than the count itself). Without Redis, Django's cache counts instead.
"""

import threading
import time

import redis
from django.conf import settings
from django.core.cache import cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_local = threading.local()


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
    name = window_key(scope, rate)
    if settings.REDIS_URL:
        pipe = _client().pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, seconds + 1, nx=True)
        count = pipe.execute()[0]
    else:
        cache.add(name, 0, timeout=seconds + 1)
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr: a fresh window
            count = 1
    return count <= int(limit)


def window_reset(*, scope: str, rate: str) -> None:
    name = window_key(scope, rate)
    if settings.REDIS_URL:
        _client().delete(name)
    else:
        cache.delete(name)

"""A per-key request counter for event capture, cheap enough to ask on every request.

Fixed windows counted in Redis with one pipelined INCRBY + EXPIRE through a client kept for
the process (Django's Redis cache builds a new client for every call, which costs more
than the count itself). A process counts locally up to a hundredth of the limit, or for
at most 50 ms, before it adds its count to Redis: with a high limit most requests ask no
one. Each process decides on all it has counted itself plus what Redis last said, so the
processes together overshoot by at most what the others counted but have not yet told:
about a hundredth of the limit each. Without Redis, Django's cache counts.
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
    index: int  # which fixed window: the time // its length
    known: int = 0  # the shared count as Redis last told it
    inflight: int = 0  # counted here, on its way to Redis
    pending: int = 0  # counted here since
    synced: float = 0.0
    flushing: bool = False


_windows: dict[str, _Window] = {}
_windows_lock = threading.Lock()


def _client() -> redis.Redis:
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = redis.Redis.from_url(settings.REDIS_URL)
    return client


def _window_name(scope: str, index: int) -> str:
    return f"mysetlist:rate:{scope}:{index}"


def window_key(scope: str, rate: str, now: float | None = None) -> str:
    seconds = _PERIODS[rate.split("/")[1][0]]
    return _window_name(scope, int((now or time.time()) // seconds))


def rate_allowed(*, scope: str, rate: str) -> bool:
    """Count one request against `rate` ("100/s", "6000/m") for scope; True while within."""
    limit, period = rate.split("/")
    seconds = _PERIODS[period[0]]
    now = time.time()
    if settings.REDIS_URL:
        return _redis_allowed(scope, int(limit), seconds, now)
    name = window_key(scope, rate, now)
    cache.add(name, 0, timeout=seconds + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr: a fresh window
        count = 1
    return count <= int(limit)


def _redis_allowed(scope: str, limit: int, seconds: int, now: float) -> bool:
    """Decide on everything this process counted (sent or not) plus what Redis last said;
    one trip to Redis at a time per scope, whose answer only ever raises the count."""
    index = int(now // seconds)
    with _windows_lock:
        window = _windows.get(scope)
        if window is None or window.index < index:
            if len(_windows) > 10_000:  # keys come and go; forget the idle ones at times
                _windows.clear()
            window = _windows[scope] = _Window(index)
        window.pending += 1  # a request stamped as the window turned counts in the new one
        due = (not window.synced or window.pending > limit // SLACK_SHARE
               or now - window.synced >= SYNC_SECONDS)  # fmt: skip
        if window.flushing or not due:
            return window.known + window.inflight + window.pending <= limit
        sending, window.pending = window.pending, 0
        window.inflight += sending
        window.flushing = True
    try:
        pipe = _client().pipeline(transaction=False)
        name = _window_name(scope, window.index)
        pipe.incrby(name, sending)
        pipe.expire(name, seconds + 1, nx=True)
        count = pipe.execute()[0]
    except Exception:
        with _windows_lock:
            window.inflight -= sending
            window.flushing = False
        raise
    with _windows_lock:  # in one step: the count moves from in flight to known
        window.inflight -= sending
        window.flushing = False
        window.known, window.synced = max(window.known, count), now
    return count <= limit  # this request was the last of those sent: its place is the count


def window_reset(*, scope: str, rate: str) -> None:
    name = window_key(scope, rate)
    with _windows_lock:
        _windows.pop(scope, None)
    if settings.REDIS_URL:
        _client().delete(name)
    else:
        cache.delete(name)

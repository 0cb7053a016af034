"""DRF throttles that stay exact however many requests arrive at once.

DRF's own throttles read a client's history from the cache, decide, and write it back, so
parallel requests all read the same history and pass together (at 120/min, 8 to 16
parallel clients got 150 to 178 requests through). Here deciding and counting are one
step: in Redis, one Lua script over a sorted set of request times (the same sliding window
as DRF's); with another cache, DRF's history under a lock of the process, exact for the
per-process caches `make run` uses (locmem), not across processes.

Scopes, rates, cache keys and Retry-After are DRF's: the project's throttles are DRF's
classes on this base.
"""

import secrets
import threading

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling

# KEYS[1] the window's key; ARGV: now, window length (seconds), limit, a unique member.
# Returns {1} when the request is counted, {0, oldest request's time} when refused.
SLIDING_WINDOW = """
local key = KEYS[1]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kind = redis.call('TYPE', key)['ok']
if kind ~= 'zset' and kind ~= 'none' then
  redis.call('DEL', key)  -- a history DRF's own throttle stored
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return {1}
end
return {0, redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]}
"""

_scripts = threading.local()
_local_lock = threading.Lock()


class RateThrottle(throttling.SimpleRateThrottle):
    """The base of the project's throttles: DRF's sliding window, counted atomically."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            self.oldest = self._count_in_redis(backend)
        else:
            self.oldest = self._count_under_lock(backend)
        return self.oldest is None

    def wait(self):
        """Return the seconds until the oldest request counted leaves the window (at most
        its length: a parallel request that read the clock later may have been counted)."""
        return min(self.duration, max(0.0, self.duration - (self.now - self.oldest)))

    def _count_in_redis(self, backend) -> float | None:
        """Count the request unless the window is full; return the oldest time if it is."""
        key = backend.make_key(self.key)
        # Django's Redis cache exposes no scripting; its client shares the cache's pool.
        client = backend._cache.get_client(key, write=True)
        script = getattr(_scripts, "sliding_window", None)
        if script is None:
            script = _scripts.sliding_window = client.register_script(SLIDING_WINDOW)
        member = f"{self.now!r}:{secrets.token_hex(6)}"
        answer = script(
            keys=[key], args=[repr(self.now), self.duration, self.num_requests, member],
            client=client,
        )  # fmt: skip
        return None if answer[0] == 1 else float(answer[1])

    def _count_under_lock(self, backend) -> float | None:
        since = self.now - self.duration
        with _local_lock:
            history = [moment for moment in backend.get(self.key, []) if moment > since]
            if len(history) >= self.num_requests:
                return history[-1]
            backend.set(self.key, [self.now, *history], self.duration)
        return None


class AnonRateThrottle(throttling.AnonRateThrottle, RateThrottle):
    """Anonymous requests per client address (scope "anon")."""


class UserRateThrottle(throttling.UserRateThrottle, RateThrottle):
    """Requests per user, or per address when anonymous (scope "user")."""


class ScopedRateThrottle(throttling.ScopedRateThrottle, RateThrottle):
    """Requests per user or address to the views of one `throttle_scope`."""

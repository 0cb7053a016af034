"""A circuit breaker per provider: after enough failures in a row, stop calling a provider
for a while and leave its deliveries queued, instead of spending every row's attempts (and
the worker's time) on a provider that is down. State lives in the shared cache, so every
worker sees the same circuit."""

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

THRESHOLD = 10  # failures in a row that open the circuit
COOL_OFF = dt.timedelta(seconds=60)  # how long it stays open before one more try


def _keys(provider: str) -> tuple[str, str]:
    return f"notifications:breaker:{provider}:failures", f"notifications:breaker:{provider}:open"


def circuit_open_until(*, provider: str) -> dt.datetime | None:
    """Return until when the provider's circuit is open, or None if calls may go."""
    until = cache.get(_keys(provider)[1])
    if until is None or until <= timezone.now():
        return None
    return until


def circuit_success(*, provider: str) -> None:
    failures, _ = _keys(provider)
    if cache.get(failures):
        cache.delete(failures)


def circuit_failure(*, provider: str) -> dt.datetime | None:
    """Count a failure; return until when the circuit is now open, if this opened it."""
    failures, opened = _keys(provider)
    cache.add(failures, 0, timeout=int(COOL_OFF.total_seconds()) * 10)
    count = cache.incr(failures)
    if count < THRESHOLD:
        return None
    until = timezone.now() + COOL_OFF
    cache.set(opened, until, timeout=int(COOL_OFF.total_seconds()) + 5)
    cache.set(failures, 0, timeout=int(COOL_OFF.total_seconds()) * 10)
    return until


def circuit_reset(*, provider: str) -> None:
    """Close the provider's circuit and forget its failures (staff, after a fix)."""
    cache.delete_many(list(_keys(provider)))

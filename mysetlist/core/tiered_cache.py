"""A two-level cache for hot reads: a small LRU in each process in front of Django's cache
(Redis in production, this process's memory without REDIS_URL).

Use::

    from mysetlist.core import tiered_cache

    ballot = tiered_cache.cached(
        f"ballot:{show_id}", "lines", ttl=60, loader=lambda: build(show_id),
        depends_on=[f"songs:{artist_id}"],
    )
    tiered_cache.invalidate_on_commit(f"ballot:{show_id}")   # in the service that changed it

    @tiered_cache.cached_function("widgets", ttl=30)
    def votes_today(*, artist_id: int) -> int: ...

`cached(namespace, key, *, ttl, loader, local_ttl=None, depends_on=())` returns the value
of `key` in `namespace`: from this process's layer, else from the shared one, else by calling
`loader()` and storing what it returns (None included) in both. `ttl` bounds the shared
copy, `local_ttl` (at most `ttl`) this process's. A namespace is `family:scope`
(`ballot:42`); counters are kept per family. `cached_function(namespace, *, ttl, key=None)`
wraps a function the same way, keyed by its arguments (or by `key(*args, **kwargs)`).
Values are shared between the requests of a process: return immutable ones (tuples, frozen
dataclasses), never a queryset or anything a caller may change.

Invalidation: versioned namespaces, not pub/sub. Each namespace has a version token in the
shared cache (`tc:ver:<namespace>`); an entry is stored and looked up under the tokens of
its namespace, of `depends_on` and of the generation (`clear()` changes that one, so it
empties every namespace). `invalidate()` writes new tokens: no process can reach the old
entries any more, in either layer. A process reads the tokens it needs again at most every
`TIERED_CACHE_CHECK_SECONDS` (1 s by default; one round trip for all of a read's
namespaces), so **a change committed on another process is served stale for at most that
long after that process's commit** (which writes the new token straight after committing;
the process that made the change sees it at once). Why not pub/sub: a subscriber is a
thread in every web and Celery process and misses what is published while it reconnects,
so it would still need a version or a short TTL to be safe; the version is safe alone and
costs one small read per namespace per second per process. If the shared cache cannot be
reached, reads fall back to the loader (uncached) and a failed invalidation is logged; the
copies then last until their TTL. Misses are not coalesced: processes that miss together
each run the loader once.

Services call `invalidate_on_commit()`: the tokens change once the transaction commits (so
no process caches the data before it is visible), and until then reads of those namespaces
in the same transaction bypass the cache and see the transaction's own writes.

Counters: every read is a local hit, a shared hit or a miss (the loader ran), counted per
family. `cache_stats()` returns this process's; with a sink set (`counts_sink_set`, which
monitoring does), they are also handed to it every few seconds as `cache:<family>:<outcome>`
counts, so dashboards can sum every process.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver

from mysetlist.core.lru import LRU

logger = logging.getLogger(__name__)

T = TypeVar("T")

GENERATION = "*"  # the namespace every entry depends on: clear() changes its version
OUTCOMES = ("local_hit", "shared_hit", "miss")
VERSION_SECONDS = 30 * 24 * 3600  # a lost version only costs a miss: a new one is made
FLUSH_SECONDS = 5.0  # how often a process hands its counts to the sink

_lock = threading.Lock()
_local: LRU | None = None
_versions: dict[str, tuple[str, float]] = {}  # namespace -> (token, when read, monotonic)
# A read's namespaces -> (their tokens, until when they stand, _epoch then): the tokens of a
# hot read without looking at each namespace. _epoch changes whenever this process changes or
# drops a token before its time (invalidate, local_forget), which retires every such entry.
_token_sets: dict[tuple[str, ...], tuple[tuple[str, ...], float, int]] = {}
_epoch = 0
_counts: Counter = Counter()  # (family, outcome) -> reads, since the process started
_flushed: Counter = Counter()  # the part of _counts handed to the sink
_next_flush = 0.0
_sink: Callable[[Mapping[str, int]], None] | None = None
_transaction = threading.local()  # .maybe: an invalidation may wait for this thread's commit


def _after_fork_in_child() -> None:
    """A forked child gets its own locks: another thread of the parent may have held them."""
    global _lock
    _lock = threading.Lock()
    if _local is not None:
        _local.reset_lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


_interval: float | None = None  # TIERED_CACHE_CHECK_SECONDS, read once (settings are slow)


def _check_seconds() -> float:
    global _interval
    if _interval is None:
        _interval = getattr(settings, "TIERED_CACHE_CHECK_SECONDS", 1.0)
    return _interval


@receiver(setting_changed, dispatch_uid="tiered-cache-settings")
def _settings_changed(*, setting: str, **kwargs) -> None:
    global _interval
    if setting == "TIERED_CACHE_CHECK_SECONDS":
        _interval = None
        _token_sets.clear()  # they stand for the old interval


def _layer() -> LRU:
    global _local
    if _local is None:
        with _lock:
            if _local is None:
                _local = LRU(getattr(settings, "TIERED_CACHE_LOCAL_MAX_ENTRIES", 2000))
    return _local


def family_of(namespace: str) -> str:
    return namespace.partition(":")[0]


def _version_key(namespace: str) -> str:
    return f"tc:ver:{namespace}"


def _entry_key(namespace: str, key: str, versions: tuple[str, ...]) -> str:
    digest = hashlib.blake2b(".".join(versions).encode(), digest_size=8).hexdigest()
    return f"tc:{namespace}:{key}:{digest}"


def _versions_of(names: tuple[str, ...], now: float) -> tuple[str, ...]:
    """Return the version tokens of `names`, read from the shared cache when this process's
    copy is older than the check interval."""
    hot = _token_sets.get(names)
    if hot is not None and now < hot[1] and hot[2] == _epoch:
        return hot[0]
    epoch = _epoch  # before reading: an invalidation meanwhile retires what is stored below
    interval = _check_seconds()
    known: dict[str, tuple[str, float]] = {}
    missing = []
    for name in names:  # no lock: a dict read is atomic, and entries are replaced whole
        found = _versions.get(name)
        if found is not None and now - found[1] < interval:
            known[name] = found
        else:
            missing.append(name)
    if missing:
        stored = cache.get_many([_version_key(name) for name in missing])
        for name in missing:
            token = stored.get(_version_key(name))
            if token is None:
                token = secrets.token_hex(8)
                if not cache.add(_version_key(name), token, VERSION_SECONDS):
                    token = cache.get(_version_key(name)) or token  # another process won
            known[name] = _versions[name] = (token, now)
    tokens = tuple(known[name][0] for name in names)
    if len(_token_sets) >= 10_000:  # reads name few sets of namespaces; bound them anyway
        _token_sets.clear()
    _token_sets[names] = (tokens, min(known[name][1] for name in names) + interval, epoch)
    return tokens


def _count(family: str, outcome: str, now: float | None = None) -> None:
    global _next_flush
    key = (family, outcome)
    flush = None
    if now is None:
        now = time.monotonic()
    with _lock:
        _counts[key] = _counts.get(key, 0) + 1
        if _sink is not None and now >= _next_flush:
            flush, _next_flush = _counts - _flushed, now + FLUSH_SECONDS
            _flushed.update(flush)
    if flush:
        _hand_over(flush)


def _hand_over(counts: Mapping[tuple[str, str], int]) -> None:
    sink = _sink
    if sink is None or not counts:
        return
    try:
        sink({f"cache:{family}:{outcome}": n for (family, outcome), n in counts.items()})
    except Exception:  # counting must never fail a read
        logger.warning("Cache counts could not be recorded", exc_info=True)


def counts_flush() -> None:
    """Hand this process's counts not handed over yet to the sink now."""
    with _lock:
        flush = _counts - _flushed
        _flushed.update(flush)
    _hand_over(flush)


def counts_sink_set(sink: Callable[[Mapping[str, int]], None] | None) -> None:
    """Set where counts go every FLUSH_SECONDS (monitoring's shared per-minute store)."""
    global _sink
    _sink = sink


class _Invalidation:
    """An on-commit invalidation of namespaces, recognisable among the transaction's hooks:
    while it waits there, reads of its namespaces in the transaction bypass the cache. A
    rollback (or a savepoint's) drops it with the other hooks, and the bypass with it."""

    def __init__(self, namespaces: tuple[str, ...]) -> None:
        self.namespaces = namespaces
        self.done = False

    def __call__(self) -> None:
        self.done = True
        invalidate(*self.namespaces)


def _pending(names: Iterable[str]) -> bool:
    """Whether a namespace of `names` waits for this thread's open transaction to commit."""
    if not getattr(_transaction, "maybe", False):  # the usual case, kept cheap
        return False
    connection = transaction.get_connection()
    waiting = set()
    if connection.in_atomic_block:
        for _, hook, _ in connection.run_on_commit:
            if isinstance(hook, _Invalidation) and not hook.done:
                waiting.update(hook.namespaces)
    if not waiting:
        _transaction.maybe = False  # committed or rolled back since
        return False
    return any(name in waiting for name in names)


def cached(
    namespace: str,
    key: str,
    *,
    ttl: float,
    loader: Callable[[], T],
    local_ttl: float | None = None,
    depends_on: Sequence[str] = (),
) -> T:
    """Return the value of `key` in `namespace`, from this process, the shared cache or
    `loader()` (see the module's docstring)."""
    family = family_of(namespace)
    names = (GENERATION, namespace, *depends_on)
    if _pending(names):
        _count(family, "miss")
        return loader()
    now = time.monotonic()
    try:
        versions = _versions_of(names, now)
    except Exception:
        logger.warning("Shared cache unreachable: %s read uncached", namespace, exc_info=True)
        _count(family, "miss")
        return loader()
    local = _layer()
    found = local.get((namespace, key), now)
    if found is not None and found[0] == versions:
        _count(family, "local_hit", now)
        return found[1]
    entry_key = _entry_key(namespace, key, versions)
    try:
        stored = cache.get(entry_key)
    except Exception:
        logger.warning("Shared cache unreachable: %s read uncached", namespace, exc_info=True)
        stored = None
    if stored is not None:
        value = stored[0]
        _count(family, "shared_hit")
    else:
        value = loader()
        _count(family, "miss")
        try:
            cache.set(entry_key, (value,), ttl)  # a tuple, so a None value is a hit too
        except Exception:
            logger.warning("Shared cache unreachable: %s not stored", namespace, exc_info=True)
    local_seconds = ttl if local_ttl is None else min(local_ttl, ttl)
    local.put((namespace, key), (versions, value), now + local_seconds)
    return value


def _args_key(args: tuple, kwargs: dict) -> str:
    text = repr((args, sorted(kwargs.items())))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def cached_function(
    namespace: str,
    *,
    ttl: float,
    local_ttl: float | None = None,
    key: Callable[..., str] | None = None,
):
    """Decorate a function whose result is kept in `namespace` for `ttl` seconds, keyed by
    its module, name and arguments' reprs (or by `key(*args, **kwargs)`);
    `invalidate(namespace)` forgets every result."""

    def decorate(function):
        name = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            found = key(*args, **kwargs) if key is not None else _args_key(args, kwargs)
            return cached(
                namespace,
                f"{name}:{found}",
                ttl=ttl,
                local_ttl=local_ttl,
                loader=lambda: function(*args, **kwargs),
            )

        return wrapper

    return decorate


def invalidate(*namespaces: str) -> None:
    """Make every process miss the namespaces' entries from now (others within the check
    interval)."""
    if not namespaces:
        return
    global _epoch
    tokens = {name: secrets.token_hex(8) for name in namespaces}
    now = time.monotonic()
    try:
        cache.set_many({_version_key(n): t for n, t in tokens.items()}, VERSION_SECONDS)
    except Exception:
        logger.error("Cache namespaces %s could not be invalidated", namespaces, exc_info=True)
        # Other processes keep their copies until their TTL; this one at least forgets.
        with _lock:
            for name in namespaces:
                _versions.pop(name, None)
            _epoch += 1
        _layer().clear()
        return
    with _lock:
        for name, token in tokens.items():
            _versions[name] = (token, now)
        _epoch += 1


def invalidate_on_commit(*namespaces: str) -> None:
    """Invalidate the namespaces once the current transaction commits (at once outside one);
    until then this thread's reads of them in the transaction bypass the cache."""
    if not transaction.get_connection().in_atomic_block:
        invalidate(*namespaces)
        return
    _transaction.maybe = True
    transaction.on_commit(_Invalidation(namespaces), robust=True)


def clear() -> None:
    """Empty every namespace in every process (others within the check interval)."""
    invalidate(GENERATION)
    _layer().clear()
    logger.info("Caches cleared (every namespace, every process)")


def cache_stats() -> dict[str, dict[str, float | int | None]]:
    """Return this process's reads per family since it started: local and shared hits,
    misses, and the hit rates (in %, None before any read)."""
    with _lock:
        counts = dict(_counts)
    stats = {}
    for family in sorted({family for family, _ in counts}):
        local, shared, miss = (counts.get((family, outcome), 0) for outcome in OUTCOMES)
        total = local + shared + miss
        stats[family] = {
            "local_hit": local,
            "shared_hit": shared,
            "miss": miss,
            "reads": total,
            "hit_rate": hit_rate(local + shared, total),
            "local_hit_rate": hit_rate(local, total),
            "shared_hit_rate": hit_rate(shared, shared + miss),
        }
    return stats


def hit_rate(hits: float, reads: float) -> float | None:
    return round(100 * hits / reads, 2) if reads else None


def local_forget() -> None:
    """Forget this process's layer and versions (tests; a process that must start cold)."""
    global _epoch
    _layer().clear()
    with _lock:
        _versions.clear()
        _token_sets.clear()
        _epoch += 1
        _counts.clear()
        _flushed.clear()

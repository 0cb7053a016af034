"""A bounded, thread-safe least-recently-used map whose entries expire.

Pure: no Django. The caller passes the clock (`now`, in seconds of a monotonic clock), so
expiry is tested without waiting; the tiered cache keeps its per-process layer in one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

_ABSENT = object()


class LRU:
    """At most `max_entries` values, each until its `expires_at`; the least recently read or
    written goes first when a new one needs room."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"an LRU holds at least one entry, not {max_entries}")
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, now: float, default: Any = None) -> Any:
        """Return the value of `key`, or `default` when there is none or it expired."""
        with self._lock:
            found = self._items.get(key, _ABSENT)
            if found is _ABSENT:
                return default
            expires_at, value = found
            if now >= expires_at:
                del self._items[key]
                return default
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any, expires_at: float) -> None:
        with self._lock:
            self._items[key] = (expires_at, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def reset_lock(self) -> None:
        """Give a forked child its own lock (another thread of the parent may have held it)."""
        self._lock = threading.Lock()

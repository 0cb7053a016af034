"""The garbage collector of a long-running server process.

A websocket process holds thousands of long-lived objects per thousand sockets, on top of
everything Django imported. CPython's full collection walks all of them, and on 2 cores it
held daphne's event loop for about 160 ms every few seconds: one vote in twenty-five reached
its 1,000 listeners 200 ms late instead of 50 (`make bench-broadcast`). Two settings take
that pause away without turning the collector off:

- `gc.freeze()` once the process has imported what it serves: modules, URL patterns and
  settings live as long as the process, so the collector need never walk them again;
- a higher first threshold (`SERVER_GC_THRESHOLDS`), so that a burst of frames does not set
  off a collection every 700 allocations, and full collections come rarer still.

Cycles made after start-up are still collected as usual.
"""

import gc

from django.conf import settings


def heap_settle() -> bool:
    """Freeze what start-up made and apply SERVER_GC_THRESHOLDS; return whether it did (a
    setting of None leaves the collector as it is: tests, which import the entry points)."""
    thresholds = settings.SERVER_GC_THRESHOLDS
    if thresholds is None:
        return False
    from django.urls import get_resolver

    get_resolver().check()  # imports every URL module, as a first request would
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    return True

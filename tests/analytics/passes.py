"""Running the rollup passes in tests: each alone, all of them, or one held elsewhere."""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection, transaction

from analytics.rollups.buckets import GRANULARITIES
from analytics.rollups.passes import _locked, _process_chunk, rollups_process


def exact_only(granularity: str) -> None:
    """The exact pass alone, as when the live one has not come round yet."""
    with transaction.atomic():
        while _process_chunk(granularity, 200):
            pass


def exact_pass_all() -> None:
    for granularity in GRANULARITIES:
        rollups_process(granularity=granularity)


@contextmanager
def job_running(key: str):
    """Another connection holds the lock of a rollup job (a granularity, or "live") until
    the block ends."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                assert _locked(key)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(hold)
        assert holding.wait(10)
        try:
            yield
        finally:
            release.set()
        held.result(timeout=10)

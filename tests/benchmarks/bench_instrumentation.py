"""What counting a request costs: the request middleware's own work (Prometheus counter and
histogram, one pipelined Redis round trip to the shared per-minute store), alone and as
part of a cheap request through Django, with and without the middleware, interleaved.

    make bench-instrumentation      # BENCH_REQUESTS=3000 by default; needs REDIS_URL
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysetlist.settings.test")

import django  # noqa: E402

django.setup()

from django.test import Client, modify_settings  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from monitoring.middleware import RequestMetricsMiddleware  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
MIDDLEWARE = "monitoring.middleware.RequestMetricsMiddleware"


class FakeRequest:
    method = "GET"
    resolver_match = None
    COOKIES = {"mysetlist_did": "bench-browser"}
    user = None


def per_call_us(function, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1e6)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {p(0.5):7.1f} µs   p99 {p(0.99):7.1f} µs   mean {statistics.fmean(times):7.1f} µs"


def main() -> None:
    setup_test_environment()
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 404s are on purpose
    from django.conf import settings

    print(f"store: {'Redis' if settings.REDIS_URL else 'this process (no REDIS_URL)'}")
    middleware = RequestMetricsMiddleware(lambda request: None)
    request = FakeRequest()
    record = per_call_us(lambda: middleware.record(request, 200, 0.01, browser="b"), REQUESTS)
    print(f"middleware.record alone          {summary(record)}")

    client = Client()
    url = "/api/no-such-route/"  # resolves nothing: the cheapest request through the stack
    with_mw, without_mw = [], []
    for _ in range(5):
        with_mw += per_call_us(lambda: client.get(url), REQUESTS // 5)
        with modify_settings(MIDDLEWARE={"remove": MIDDLEWARE}):
            without_mw += per_call_us(lambda: client.get(url), REQUESTS // 5)
    print(f"request without the middleware   {summary(without_mw)}")
    print(f"request with the middleware      {summary(with_mw)}")
    print(
        "overhead (difference of medians) "
        f"{statistics.median(with_mw) - statistics.median(without_mw):7.1f} µs"
    )


if __name__ == "__main__":
    main()

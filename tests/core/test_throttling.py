"""The project's throttles count exactly: parallel clients get no more than the rate."""

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from rest_framework import throttling as drf_throttling
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from mysetlist.core import throttling
from mysetlist.users.models import User

THREADS = 16
REQUESTS = 60
RATE = "20/min"


def ping_view(throttle_class):
    class PingApi(APIView):
        authentication_classes = []
        permission_classes = [AllowAny]
        throttle_classes = [throttle_class]
        throttle_scope = "ping"

        def get(self, request):
            return Response({"ok": True})

    return PingApi.as_view()


@pytest.fixture(autouse=True)
def rates(monkeypatch):
    """The rates DRF read when it loaded, with every scope this module uses at RATE."""
    rates = {**drf_throttling.SimpleRateThrottle.THROTTLE_RATES}
    rates.update(anon=RATE, user=RATE, ping=RATE)
    monkeypatch.setattr(drf_throttling.SimpleRateThrottle, "THROTTLE_RATES", rates)


def client_address() -> str:
    """An address of its own for each test: windows outlive a test in a shared Redis."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


def fire(view, *, user=None, address=None, requests=REQUESTS, threads=THREADS):
    """Send `requests` GETs to view from `threads` threads at once; return the responses."""
    factory = APIRequestFactory()
    start = threading.Barrier(threads)
    address = address or client_address()

    def send(_):
        request = factory.get("/ping/", REMOTE_ADDR=address)
        if user is not None:
            force_authenticate(request, user=user)
        return view(request)

    def worker(share):
        start.wait()
        return [send(n) for n in range(share)]

    shares = [requests // threads + (n < requests % threads) for n in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [response for batch in pool.map(worker, shares) for response in batch]


@pytest.mark.parametrize(
    "throttle_class",
    [throttling.AnonRateThrottle, throttling.UserRateThrottle, throttling.ScopedRateThrottle],
)
def test_parallel_anonymous_clients_get_exactly_the_rate(throttle_class):
    responses = fire(ping_view(throttle_class))

    codes = [response.status_code for response in responses]
    assert (codes.count(200), codes.count(429)) == (20, 40)


@pytest.mark.parametrize(
    "throttle_class", [throttling.UserRateThrottle, throttling.ScopedRateThrottle]
)
def test_parallel_requests_of_one_user_get_exactly_the_rate(throttle_class):
    user = User(pk=10**12 + secrets.randbelow(10**9), username="parallel")

    responses = fire(ping_view(throttle_class), user=user)

    codes = [response.status_code for response in responses]
    assert (codes.count(200), codes.count(429)) == (20, 40)


def test_refused_requests_say_when_to_retry():
    responses = fire(ping_view(throttling.ScopedRateThrottle), requests=21, threads=1)

    refused = responses[-1]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.data == {"message": "Request was throttled. Expected available in "
                            f"{refused['Retry-After']} seconds.", "extra": {}}  # fmt: skip


def test_the_window_slides(monkeypatch):
    clock = [1_000_000.0 + secrets.randbelow(10**6)]
    monkeypatch.setattr(throttling.RateThrottle, "timer", staticmethod(lambda: clock[0]))
    view, address = ping_view(throttling.ScopedRateThrottle), client_address()

    def codes(n):
        return [r.status_code for r in fire(view, address=address, requests=n, threads=1)]

    first = codes(10)
    clock[0] += 30
    second = codes(11)
    clock[0] += 29.5  # the first ten are still in the window
    third = codes(1)
    clock[0] += 1  # now they have left it: ten places free
    fourth = codes(11)

    assert (first, second) == ([200] * 10, [200] * 10 + [429])
    assert third == [429]
    assert fourth == [200] * 10 + [429]


def test_a_history_left_by_drfs_own_throttle_is_replaced(monkeypatch):
    address = client_address()
    caches["default"].set(f"throttle_ping_{address}", [1.0, 2.0], 60)

    responses = fire(ping_view(throttling.ScopedRateThrottle), address=address, requests=1)

    assert responses[0].status_code == 200


def test_without_redis_a_process_counts_exactly_under_a_lock(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    responses = fire(ping_view(throttling.ScopedRateThrottle))

    codes = [response.status_code for response in responses]
    assert (codes.count(200), codes.count(429)) == (20, 40)
    assert 1 <= int(responses[codes.index(429)]["Retry-After"]) <= 60


def test_the_apis_use_the_project_throttles():
    from rest_framework.settings import api_settings

    from mysetlist.setlists.apis import VoteCastApi
    from mysetlist.urls import TokenObtainApi
    from notifications.apis import NotificationSendApi, PushSubscribeApi

    assert all(
        issubclass(cls, throttling.RateThrottle) for cls in api_settings.DEFAULT_THROTTLE_CLASSES
    )
    for view in (VoteCastApi, TokenObtainApi, NotificationSendApi, PushSubscribeApi):
        assert all(issubclass(cls, throttling.RateThrottle) for cls in view.throttle_classes), view

import asyncio
import datetime as dt

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.rollups.passes import rollups_live
from monitoring import catalog, live, workers
from monitoring.routing import websocket_counted
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def window(minutes: int = 5):
    now = timezone.now()
    return now - dt.timedelta(minutes=minutes), now + dt.timedelta(seconds=1)


@pytest.mark.urls("tests.monitoring.urls")
def test_request_figures_count_real_requests_errors_and_visitors(open_show):
    fan = Client()
    fan.force_login(UserFactory())
    browser = Client(raise_request_exception=False)
    browser.cookies["mysetlist_did"] = "browser-1"
    anonymous = Client(raise_request_exception=False)

    for _ in range(6):
        assert fan.get(reverse("setlists-api:show-detail", args=[open_show.pk])).status_code == 200
    assert browser.get("/test-boom/1/").status_code == 500
    assert anonymous.get("/test-boom/2/").status_code == 500

    start, end = window()
    minutes = (end - start).total_seconds() / 60
    assert catalog.value("http_requests_per_minute", start, end) == pytest.approx(8 / minutes)
    assert catalog.value("http_error_rate", start, end) == pytest.approx(25.0)
    assert catalog.value("active_users", start, end) == 2  # the fan and the browser
    p50 = catalog.value("http_latency_p50_ms", start, end)
    p99 = catalog.value("http_latency_p99_ms", start, end)
    assert 0 < p50 <= p99
    # Nothing was recorded an hour ago.
    earlier = (start - dt.timedelta(hours=1), end - dt.timedelta(hours=1))
    assert catalog.value("http_requests_per_minute", *earlier) == 0
    assert catalog.value("http_error_rate", *earlier) is None


def test_votes_and_events_per_minute_and_lag_follow_the_live_rollups(open_show, song):
    fans = [UserFactory() for _ in range(3)]
    for fan in fans:
        client = APIClient()
        client.force_authenticate(fan)
        response = client.post(
            reverse("setlists-api:vote-cast"), {"show": open_show.pk, "song": song.pk, "value": 1}
        )
        assert response.status_code == 200
    start, end = window()
    assert catalog.value("votes_per_minute", start, end) == 0  # not rolled up yet

    rollups_live()

    minutes = (end - start).total_seconds() / 60
    assert catalog.value("votes_per_minute", start, end) == pytest.approx(3 / minutes)
    assert catalog.value("events_per_minute", start, end) >= 3 / minutes
    assert catalog.value("ingestion_lag_ms", start, end) >= 0


def test_worker_figures_come_from_heartbeats_and_task_outcomes():
    start, end = window()
    assert catalog.value("celery_workers_alive", start, end) == 0

    workers.heartbeat("worker-a@host")
    workers.heartbeat("worker-b@host")
    workers.task_failure(sender=type("T", (), {"name": "tests.failing"}))
    workers.task_success(sender=type("T", (), {"name": "tests.fine"}))

    start, end = window()
    assert catalog.value("celery_workers_alive", start, end) == 2
    assert catalog.value("celery_task_failures", start, end) == 1
    depth = catalog.value("celery_queue_depth", start, end)
    assert depth is None or depth >= 0  # None on the file-system broker, which keeps no count


def test_the_queue_depth_counts_messages_waiting_in_redis(settings):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the file-system broker keeps no count")
    import redis

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue)
    broker.rpush(queue, "a", "b", "c")
    try:
        assert workers.queue_depths()[queue] == 3
        assert catalog.value("celery_queue_depth", *window()) >= 3
    finally:
        broker.delete(queue)


async def _echo(scope, receive, send):
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


@pytest.mark.asyncio
async def test_websocket_connections_are_counted_while_open():
    from asgiref.sync import sync_to_async

    app = websocket_counted(_echo)
    first = WebsocketCommunicator(app, "/ws/shows/1/")
    second = WebsocketCommunicator(app, "/ws/shows/2/")
    assert (await first.connect())[0] and (await second.connect())[0]

    async def figure():
        for _ in range(50):  # the sample is written just after the change, in a thread
            found = await sync_to_async(catalog.value)("websocket_connections", *window())
            if found == len([c for c in app.open.elements()]):
                return found
            await asyncio.sleep(0.02)
        return found

    assert app.open == {"ws/shows": 2}
    assert await figure() == 2
    await first.disconnect()
    await second.disconnect()
    assert app.open["ws/shows"] == 0
    assert live.minutes_read(*window())  # the sample of 0 is in the current minute
    assert app.sampler.daemon  # never holds a process (or an event loop) open

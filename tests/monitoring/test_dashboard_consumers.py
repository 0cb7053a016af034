import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from monitoring.dashboards import services
from monitoring.dashboards.models import Dashboard, Widget
from mysetlist.asgi import application
from tests.setlists.factories import UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1")


@database_sync_to_async
def session_of(**fields):
    user = UserFactory(**fields)
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@database_sync_to_async
def board_with_an_alert_card():
    cache.delete(services._watched_key())
    board = Dashboard.objects.create(slug="ops-test", title="Ops")
    Widget.objects.create(dashboard=board, title="Alerts firing", kind="metric", source="alerts",
                          range="15m")  # fmt: skip
    return board


def socket(path: str, session: str | None) -> WebsocketCommunicator:
    headers = [ORIGIN]
    if session:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def test_the_minute_job_sends_an_open_dashboard_to_staff_only():
    board = await board_with_an_alert_card()
    staff = socket(f"/ws/dashboards/{board.pk}/", await session_of(is_staff=True))
    assert (await staff.connect())[0]

    sent = await database_sync_to_async(services.dashboards_refresh)()

    assert sent == 1
    message = await staff.receive_json_from(timeout=5)
    assert message["type"] == "dashboard.update" and message["dashboard"] == "ops-test"
    [card] = message["widgets"]
    assert (card["title"], card["kind"], card["text"]) == ("Alerts firing", "metric", "0")
    await staff.disconnect()


async def test_a_page_at_another_range_hears_only_its_own_range():
    board = await board_with_an_alert_card()
    session = await session_of(is_staff=True)
    own = socket(f"/ws/dashboards/{board.pk}/", session)
    week = socket(f"/ws/dashboards/{board.pk}/7d/", session)
    assert (await own.connect())[0] and (await week.connect())[0]

    assert await database_sync_to_async(services.dashboards_refresh)() == 2

    assert (await own.receive_json_from(timeout=5))["widgets"][0]["range"] == "Last 15 minutes"
    assert (await week.receive_json_from(timeout=5))["widgets"][0]["range"] == "Last 7 days"
    await own.disconnect()
    await week.disconnect()


@pytest.mark.parametrize("fields", [None, {"is_staff": False}])
async def test_a_fan_or_a_visitor_cannot_listen(fields):
    board = await board_with_an_alert_card()
    session = None if fields is None else await session_of(**fields)
    communicator = socket(f"/ws/dashboards/{board.pk}/", session)

    connected, code = await communicator.connect()

    assert not connected and code == 4403
    await communicator.disconnect()
    assert await database_sync_to_async(services.dashboards_watched)() == []


async def test_nothing_is_computed_when_no_page_is_open():
    await board_with_an_alert_card()

    assert await database_sync_to_async(services.dashboards_refresh)() == 0

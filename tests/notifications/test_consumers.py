"""The live inbox: a user's open pages hear their new notifications and unread count over a
real websocket; nobody else hears them and anonymous sockets are refused."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from mysetlist.asgi import application
from notifications import inbox
from notifications.delivery.outbox import deliveries_send
from notifications.inbox import inbox_group, notification_read
from notifications.models import Delivery, Notification
from notifications.selectors import inbox_groups_present
from notifications.services import notify
from tests.setlists.factories import UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1")
URL = "/ws/notifications/inbox/"


@database_sync_to_async
def logged_in_user():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    return user, client.cookies[settings.SESSION_COOKIE_NAME].value


async def connect(session: str | None) -> WebsocketCommunicator:
    headers = [ORIGIN]
    if session:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    return WebsocketCommunicator(application, URL, headers=headers)


@database_sync_to_async
def tell_and_deliver(user_ids):
    notify(
        category="show_announced", user_ids=user_ids, key="show_announced:7",
        context={"artist": "The Band", "venue": "Chicago", "date": "May 1", "url": "/"},
    )  # fmt: skip
    ids = list(Delivery.objects.filter(channel="in_app").values_list("pk", flat=True))
    deliveries_send(ids=ids)
    return Notification.objects.get(user_id=user_ids[0])


async def test_a_new_notification_and_the_count_reach_the_users_open_page():
    user, session = await logged_in_user()
    other, other_session = await logged_in_user()
    mine = await connect(session)
    assert (await mine.connect())[0]
    assert await mine.receive_json_from(timeout=5) == {"type": "inbox.count", "unread": 0}
    theirs = await connect(other_session)
    assert (await theirs.connect())[0]
    await theirs.receive_json_from(timeout=5)

    notification = await tell_and_deliver([user.pk])

    message = await mine.receive_json_from(timeout=5)
    assert message["type"] == "inbox.notification"
    assert message["id"] == notification.pk
    assert message["text"] == "The Band will play Chicago on May 1."
    assert message["url"] == "/"  # a link, as on the inbox page
    assert await theirs.receive_nothing(timeout=0.3)

    await database_sync_to_async(notification_read)(user=user, notification_id=notification.pk)
    assert await mine.receive_json_from(timeout=5) == {"type": "inbox.count", "unread": 0}
    await mine.disconnect()
    await theirs.disconnect()


async def test_an_anonymous_socket_is_refused():
    communicator = await connect(None)
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_what_a_client_sends_is_answered_not_obeyed():
    _, session = await logged_in_user()
    communicator = await connect(session)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)
    await communicator.send_to(text_data="{not json")
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.disconnect()


def present(*user_ids):
    return inbox_groups_present(groups=[inbox_group(user_id) for user_id in user_ids])


async def test_an_open_inbox_is_present_and_renews_itself_while_open(monkeypatch):
    monkeypatch.setattr(inbox, "PRESENCE_TTL", 1)
    monkeypatch.setattr(inbox, "PRESENCE_REFRESH", 0.2)
    user, session = await logged_in_user()
    other, _ = await logged_in_user()
    communicator = await connect(session)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)

    await asyncio.sleep(1.5)  # past the first record's time to live
    assert await sync_to_async(present)(user.pk, other.pk) == {inbox_group(user.pk)}

    await communicator.disconnect()
    await asyncio.sleep(1.2)  # nothing renews it once closed
    assert await sync_to_async(present)(user.pk) == set()


async def test_live_events_go_only_to_users_with_an_inbox_open():
    user, session = await logged_in_user()
    absent, _ = await logged_in_user()
    mine = await connect(session)
    await mine.connect()
    await mine.receive_json_from(timeout=5)
    # In the absent user's group, but with no open inbox recorded: not sent to.
    layer = get_channel_layer()
    eavesdropper = await layer.new_channel()
    await layer.group_add(inbox_group(absent.pk), eavesdropper)

    await tell_and_deliver([user.pk, absent.pk])

    assert (await mine.receive_json_from(timeout=5))["type"] == "inbox.notification"
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.5):
            await layer.receive(eavesdropper)
    await mine.disconnect()

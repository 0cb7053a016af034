"""The live inbox: a user's open pages hear their new notifications and unread count over a
real websocket; nobody else hears them and anonymous sockets are refused."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from mysetlist.asgi import application
from notifications.delivery import deliveries_send
from notifications.inbox import notification_read
from notifications.models import Delivery, Notification
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

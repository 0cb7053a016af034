import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from notifications import inbox
from notifications.selectors import inbox_unread_count

logger = logging.getLogger(__name__)


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """Forward a user's new notifications and unread count to their open pages. Only the
    logged-in user hears their own inbox. While open, the socket records that it is, so
    delivery sends live events only to users with a page open."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group_name = inbox.inbox_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await sync_to_async(inbox.inbox_presence_record)(user_id=user.pk)
        self.presence = asyncio.create_task(self._stay_present(user.pk))
        await self.accept()
        unread = await database_sync_to_async(inbox_unread_count)(user=user)
        await self.send_json({"type": "inbox.count", "unread": unread})

    async def _stay_present(self, user_id: int) -> None:
        while True:
            await asyncio.sleep(inbox.PRESENCE_REFRESH)
            try:
                await sync_to_async(inbox.inbox_presence_record)(user_id=user_id)
            except Exception:
                logger.exception("recording the open inbox of user %s failed", user_id)

    async def disconnect(self, code):
        if hasattr(self, "presence"):
            self.presence.cancel()
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Reading and dismissing go through the HTTP API, where CSRF and throttles apply.
        await self.send_json({"type": "error", "message": "This socket only sends updates."})

    async def inbox_notification(self, event):
        await self.send_json({"type": "inbox.notification", **event["payload"]})

    async def inbox_count(self, event):
        await self.send_json({"type": "inbox.count", **event["payload"]})

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .models import Show
from .services import show_group_name


@database_sync_to_async
def _show_exists(show_id: int) -> bool:
    return Show.objects.filter(pk=show_id).exists()


class ShowVotesConsumer(AsyncJsonWebsocketConsumer):
    """Forward a show's live vote counts to one browser. Counts are public: anyone may listen."""

    async def connect(self):
        show_id = self.scope["url_route"]["kwargs"]["show_id"]
        if not await _show_exists(show_id):
            await self.close(code=4404)
            return
        self.group_name = show_group_name(show_id)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Listening only: votes go through the HTTP API, where auth, CSRF and throttles apply.
        # Nothing a client sends is decoded, so junk frames cannot break the connection.
        await self.send_json({"type": "error", "message": "This socket only sends updates."})

    async def votes_changed(self, event):
        await self.send_json({"type": "votes.changed", **event["payload"]})

    async def show_status(self, event):
        await self.send_json({"type": "show.status", **event["payload"]})

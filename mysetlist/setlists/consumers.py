from channels.generic.websocket import AsyncWebsocketConsumer

from .live import show_hub


class ShowVotesConsumer(AsyncWebsocketConsumer):
    """Forward a show's live vote counts to one browser. Counts are public: anyone may listen.

    The socket joins its show's room in this process's hub (see `live`), which sends it
    the show's tallies at once and then coalesced changes, presence and status frames; it
    takes no channel of the channel layer.
    """

    channel_layer_alias = "__live_hub_only__"  # no such layer: no channel per socket

    async def connect(self):
        self.show_id = self.scope["url_route"]["kwargs"]["show_id"]
        hub = show_hub()
        if not await hub.show_exists(self.show_id):
            await self.close(code=4404)
            return
        await self.accept()
        self.hub = hub
        if not await hub.join(self.show_id, self.base_send):
            del self.hub
            await self.close(code=4404)

    async def disconnect(self, code):
        if hasattr(self, "hub"):
            self.hub.leave(self.show_id, self.base_send)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Listening only: votes go through the HTTP API, where auth, CSRF and throttles apply.
        # Nothing a client sends is decoded, so junk frames cannot break the connection.
        await self.send(text_data='{"type":"error","message":"This socket only sends updates."}')

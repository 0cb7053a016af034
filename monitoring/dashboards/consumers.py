import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from monitoring.dashboards import services
from monitoring.dashboards.ranges import SPANS

logger = logging.getLogger(__name__)


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Forward a dashboard's widgets, as the minute job computes them, to staff with its page
    open. While open, the socket records that it is, so the job computes only watched
    dashboards."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=4403)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        self.dashboard_id = int(kwargs["dashboard_id"])
        range_key = kwargs.get("range_key") or ""
        self.range_key = range_key if range_key in SPANS else ""
        self.group_name = services.dashboard_group(self.dashboard_id, self.range_key)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self._watch()
        self.presence = asyncio.create_task(self._stay_present())
        await self.accept()

    async def _watch(self):
        await sync_to_async(services.dashboard_watch)(
            dashboard_id=self.dashboard_id, range_key=self.range_key
        )

    async def _stay_present(self) -> None:
        while True:
            await asyncio.sleep(60)
            try:
                await self._watch()
            except Exception:
                logger.exception("recording open dashboard %s failed", self.dashboard_id)

    async def disconnect(self, code):
        if hasattr(self, "presence"):
            self.presence.cancel()
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        await self.send_json({"type": "error", "message": "This socket only sends updates."})

    async def dashboard_update(self, event):
        await self.send_json({"type": "dashboard.update", **event["payload"]})

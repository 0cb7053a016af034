"""One subscription per process to a topic of live messages, over Redis pub/sub when
LIVE_REDIS_URL is set and over the channel layer's group `live-<topic>` otherwise (the embedded,
single-process setup, where other processes' sends are relayed to daphne).

A message is published once, whatever the number of websockets: each process holding
websockets receives it once on its one subscription and fans it out in memory. Pub/sub keeps
nothing for a subscriber that is away, so a subscriber that reconnects is told so
(`on_resubscribed`) and must load current state again.
"""

import asyncio
import json
import logging
import threading
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)

_client = None
_client_lock = threading.Lock()


def channel_name(topic: str) -> str:
    return f"{settings.LIVE_CHANNEL_PREFIX}:{topic}"


def _sync_client():
    global _client
    with _client_lock:
        if _client is None:
            import redis

            _client = redis.Redis.from_url(
                settings.LIVE_REDIS_URL, socket_timeout=3, socket_connect_timeout=3
            )
        return _client


def publish(*, topic: str, message: dict) -> None:
    """Send `message` to every subscriber of `topic` now."""
    if settings.LIVE_REDIS_URL:
        _sync_client().publish(channel_name(topic), json.dumps(message, separators=(",", ":")))
        return
    from mysetlist.core.broadcast import broadcast

    broadcast(group=f"live-{topic}", event_type="live.message", payload=message)


class Subscription:
    """This process's subscription to `topic`: `on_message(dict)` runs in the event loop for
    each message, `on_resubscribed()` after the feed was lost and found again."""

    def __init__(
        self,
        topic: str,
        on_message: Callable[[dict], None],
        on_resubscribed: Callable[[], None],
    ):
        self.topic = topic
        self.on_message = on_message
        self.on_resubscribed = on_resubscribed
        self.redis = None
        self.pubsub = None
        self.channel = None
        self.reader: asyncio.Task | None = None

    async def start(self) -> None:
        """Subscribe, returning once messages published from now on will arrive."""
        await self._subscribe()
        self.reader = asyncio.ensure_future(self._read_forever())

    async def stop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
            self.reader = None
        await self._unsubscribe()

    async def _subscribe(self) -> None:
        if settings.LIVE_REDIS_URL:
            import redis.asyncio

            self.redis = redis.asyncio.Redis.from_url(
                settings.LIVE_REDIS_URL, socket_connect_timeout=3
            )
            self.pubsub = self.redis.pubsub()
            await self.pubsub.subscribe(channel_name(self.topic))
            # Wait for Redis to confirm: from then on, nothing published is missed.
            while True:
                confirmed = await self.pubsub.get_message(timeout=5)
                if confirmed and confirmed["type"] == "subscribe":
                    return
        else:
            from channels.layers import get_channel_layer

            layer = get_channel_layer()
            self.channel = await layer.new_channel()
            await layer.group_add(f"live-{self.topic}", self.channel)

    async def _unsubscribe(self) -> None:
        if self.pubsub is not None:
            try:
                await self.pubsub.aclose()
                await self.redis.aclose()
            except Exception:
                logger.debug("closing the live subscription failed", exc_info=True)
            self.pubsub = self.redis = None
        if self.channel is not None:
            from channels.layers import get_channel_layer

            await get_channel_layer().group_discard(f"live-{self.topic}", self.channel)
            self.channel = None

    async def refresh(self) -> None:
        """Join the layer's group again: the in-memory layer forgets a group after a day."""
        if self.channel is not None:
            from channels.layers import get_channel_layer

            await get_channel_layer().group_add(f"live-{self.topic}", self.channel)

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("live feed %s lost; subscribing again", self.topic, exc_info=True)
                await self._unsubscribe()
                await asyncio.sleep(1)
                try:
                    await self._subscribe()
                except Exception:
                    logger.warning("live feed %s: subscribing failed", self.topic, exc_info=True)
                    continue
                self.on_resubscribed()

    async def _read(self) -> None:
        if self.pubsub is not None:
            while True:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=30)
                if message is not None:
                    self._deliver(json.loads(message["data"]))
        else:
            from channels.layers import get_channel_layer

            layer = get_channel_layer()
            while True:
                self._deliver((await layer.receive(self.channel))["payload"])

    def _deliver(self, message: dict) -> None:
        try:
            self.on_message(message)
        except Exception:
            logger.exception("a live message on %s was not handled", self.topic)

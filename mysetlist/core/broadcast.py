"""The one way services publish to websocket groups: after the transaction commits."""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def broadcast(*, group: str, event_type: str, payload: dict) -> None:
    """Send one event to a websocket group now; a failing layer is logged, never raised."""
    broadcast_many(events=[(group, event_type, payload)])


def broadcast_many(*, events: Iterable[tuple[str, str, dict]]) -> None:
    """Send events, each (group, event type, payload), now and in one event loop; a failing
    layer is logged, never raised."""
    layer = get_channel_layer()
    events = list(events)
    if layer is None or not events:
        return

    sends = [
        (group, {"type": event_type, "payload": payload}) for group, event_type, payload in events
    ]

    async def send_all():
        send_many = getattr(layer, "group_send_many", None)  # the embedded layer's: one relay
        if send_many is not None:
            await send_many(sends)
            return
        for group, message in sends:
            await layer.group_send(group, message)

    try:
        async_to_sync(send_all)()
    except Exception:
        # What committed stays committed; clients catch up on their next message.
        logger.exception("broadcast of %s events (to %s first) failed", len(events), events[0][0])


def broadcast_on_commit(*, group: str, event_type: str, payload: dict) -> None:
    """Send one event to a websocket group once the current transaction commits."""
    transaction.on_commit(
        lambda: broadcast(group=group, event_type=event_type, payload=payload), robust=True
    )


def live_publish(*, topic: str, message: dict) -> None:
    """Publish one message to every process's live feed of `topic` (see live_feed); a failing
    transport is logged, never raised."""
    from mysetlist.core import live_feed

    try:
        live_feed.publish(topic=topic, message=message)
    except Exception:
        # What committed stays committed; a page catches up when it reconnects.
        logger.exception("live publish to %s failed", topic)


def live_publish_on_commit(*, topic: str, message: dict) -> None:
    """Publish one message to the live feed of `topic` once the current transaction commits."""
    transaction.on_commit(lambda: live_publish(topic=topic, message=message), robust=True)

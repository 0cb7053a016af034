"""The one way services publish to websocket groups: after the transaction commits."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def broadcast(*, group: str, event_type: str, payload: dict) -> None:
    """Send one event to a websocket group now; a failing layer is logged, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": event_type, "payload": payload})
    except Exception:
        # A vote that committed stays committed; clients catch up on their next message.
        logger.exception("broadcast to %s failed", group)


def broadcast_on_commit(*, group: str, event_type: str, payload: dict) -> None:
    """Send one event to a websocket group once the current transaction commits."""
    transaction.on_commit(
        lambda: broadcast(group=group, event_type=event_type, payload=payload), robust=True
    )

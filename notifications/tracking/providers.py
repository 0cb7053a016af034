"""Email providers' tracking events (delivered, bounced, opened...) through anymail.

A provider gives its webhook a few seconds, so the receiver of anymail's `tracking` signal
only stores the event and hands it to a worker on commit; `tracking_events_apply` then
writes it onto its delivery. The stored row is the record: a redelivered webhook is
stored once, and a beat job applies what a lost hand-over left pending.
"""

import datetime as dt
import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from analytics.services import track
from notifications.models import Channel, Delivery, TrackingEvent
from notifications.services import unsubscribe
from notifications.tasks import tracking_events_apply as tracking_events_apply_task

logger = logging.getLogger(__name__)

DESCRIPTION_MAX = 2000
# An event can come before the sender has recorded its message id (a provider's "sent" may
# beat the commit): one naming no delivery waits this long before it is set aside.
UNMATCHED_GRACE = dt.timedelta(minutes=5)


def _event_id(esp_name: str, event) -> str:
    """The provider's id of the event, or one derived from what the event says, so the same
    event posted again gets the same id."""
    if event.event_id and len(str(event.event_id)) <= 255:
        return str(event.event_id)
    timestamp = event.timestamp.isoformat() if event.timestamp else ""
    parts = [esp_name, event.message_id, event.event_type, timestamp, event.recipient]
    if event.event_id:  # too long to store as it is
        parts.append(event.event_id)
    digest = hashlib.sha256("\x1f".join(str(p or "") for p in parts).encode()).hexdigest()
    return f"sha256:{digest}"


def tracking_event_receive(sender, event, esp_name: str, **kwargs) -> None:
    """Store one normalized anymail tracking event and have a worker apply it on commit.

    Connected to `anymail.signals.tracking`; does nothing else, so the webhook answers fast.
    """
    description = "; ".join(text for text in (event.description, event.mta_response) if text)
    row = TrackingEvent(
        provider=esp_name[:30],
        event_id=_event_id(esp_name, event),
        event_type=(event.event_type or "unknown")[:30],
        message_id=(event.message_id or "")[:255],
        recipient=(event.recipient or "")[:254],
        occurred_at=event.timestamp,
        description=description[:DESCRIPTION_MAX],
    )
    TrackingEvent.objects.bulk_create([row], ignore_conflicts=True)
    stored = (
        TrackingEvent.objects.filter(provider=row.provider, event_id=row.event_id)
        .values_list("pk", "applied_at")
        .first()
    )
    if stored and stored[1] is None:
        # robust: a broker that is away must not fail the webhook (the provider would post
        # again); the row is stored and beat's re-drive applies it.
        transaction.on_commit(
            lambda: tracking_events_apply_task.delay(ids=[stored[0]]), robust=True
        )


def _properties(event: TrackingEvent, delivery: Delivery, now: dt.datetime) -> dict:
    notification = delivery.notification
    properties = {
        "notification_id": notification.pk,
        "delivery_id": delivery.pk,
        "channel": delivery.channel,
        "category": notification.category,
        "provider": delivery.provider or event.provider,
        "template_version": delivery.template_version,
    }
    if event.event_type in ("opened", "clicked") and delivery.sent_at:
        occurred = event.occurred_at or now
        properties["seconds_since_sent"] = max(
            0, int((occurred - delivery.sent_at).total_seconds())
        )
    return properties


def _apply(event: TrackingEvent, delivery: Delivery, now: dt.datetime) -> None:
    """Write one event onto its delivery (first open and click only, never un-bounce)."""
    at = event.occurred_at or now
    changed: list[str] = []
    kind = event.event_type
    if kind == "delivered" and delivery.status != Delivery.Status.BOUNCED:
        if delivery.status != Delivery.Status.DELIVERED:
            delivery.status = Delivery.Status.DELIVERED
            changed.append("status")
        if delivery.delivered_at is None:
            delivery.delivered_at = at
            changed.append("delivered_at")
    elif kind in ("bounced", "rejected"):
        delivery.status = Delivery.Status.BOUNCED
        delivery.response = (event.description or kind)[:DESCRIPTION_MAX]
        changed += ["status", "response"]
    elif kind in ("opened", "clicked"):
        if delivery.opened_at is None:  # a click is an open the pixel may have missed
            delivery.opened_at = at
            changed.append("opened_at")
        if kind == "clicked" and delivery.clicked_at is None:
            delivery.clicked_at = at
            changed.append("clicked_at")
    elif kind in ("complained", "unsubscribed"):
        unsubscribe(user=delivery.notification.user)
    # deferred, queued, failed, sent and the rest: the stored event is the record.
    if changed:
        delivery.save(update_fields=changed)
    track(
        event=f"notification_{kind}",
        user=delivery.notification.user,
        properties=_properties(event, delivery, now),
    )


def tracking_events_apply(*, ids: list[int] | None = None, limit: int = 500) -> int:
    """Apply pending tracking events (those among `ids`, or any) to their email deliveries,
    in the order they happened, up to `limit`; return how many were applied.

    Rows are locked and skipped when locked, so two workers never apply one event twice.
    An event naming no delivery is set aside (applied, nothing changed) once it is older
    than UNMATCHED_GRACE.
    """
    now = timezone.now()
    with transaction.atomic():
        pending = TrackingEvent.objects.select_for_update(skip_locked=True).filter(applied_at=None)
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        events = list(pending.order_by("received_at", "pk")[:limit])
        message_ids = {e.message_id for e in events if e.message_id}
        # Locked too (in one order), so a bounce and a delivery applied by two workers at
        # once cannot undo each other.
        deliveries = {
            d.provider_message_id: d
            for d in Delivery.objects.select_for_update(of=("self",))
            .filter(channel=Channel.EMAIL, provider_message_id__in=message_ids)
            .select_related("notification__user")
            .order_by("pk")
        }
        applied = []
        events.sort(key=lambda e: (e.occurred_at or e.received_at, e.pk))
        for event in events:
            delivery = deliveries.get(event.message_id) if event.message_id else None
            if delivery is None:
                if event.message_id and event.received_at > now - UNMATCHED_GRACE:
                    continue
                logger.debug(
                    "%s %s event for unknown message %r set aside",
                    event.provider, event.event_type, event.message_id,
                )  # fmt: skip
            else:
                _apply(event, delivery, now)
            applied.append(event.pk)
        TrackingEvent.objects.filter(pk__in=applied).update(applied_at=now)
    return len(applied)

"""Recording what was sent: the outcomes of many deliveries in one statement, with their
analytics events in the same transaction, then their live events to open inboxes."""

import logging

import orjson
from django.db import connection, transaction
from django.db.models import F

from analytics.services import AccountEvent, track_many
from mysetlist.core.broadcast import broadcast_many
from notifications.delivery.channels import Sent
from notifications.models import Delivery
from notifications.selectors import inbox_groups_present

logger = logging.getLogger(__name__)


def _event(sent: Sent) -> AccountEvent:
    delivery, outcome = sent.delivery, sent.outcome
    notification = delivery.notification
    name = (
        "notification_delivered"
        if outcome.status == Delivery.Status.DELIVERED
        else "notification_sent"
    )
    return AccountEvent(
        event=name,
        user_id=notification.user_id,
        timestamp=sent.at,
        properties={
            "notification_id": notification.pk,
            "delivery_id": delivery.pk,
            "channel": delivery.channel,
            "category": notification.category,
            "provider": outcome.provider,
            "template_version": sent.words.version,
            "latency_ms": sent.latency_ms,
        },
    )


_RECORD_SQL = """
UPDATE {table} AS d SET
    status = v.status, attempts = d.attempts + 1, claimed_until = NULL, sent_at = v.at,
    delivered_at = CASE WHEN v.status = %s THEN v.at ELSE d.delivered_at END,
    provider = v.provider, provider_message_id = v.message_id, response = v.response,
    template_version = v.version, render_ms = v.render_ms, latency_ms = v.latency_ms
FROM json_to_recordset(%s::json) AS v(
    id bigint, status text, at timestamptz, provider text, message_id text, response text,
    version integer, render_ms float8, latency_ms integer
)
WHERE d.id = v.id AND CASE WHEN d.status = %s THEN true END
RETURNING d.id
"""


# The outcomes go as one JSON document: quoting arrays of them took longer than the update.
# The CASE keeps the partial index of queued rows out of the plan. Statistics lag a big
# fan-out (autoanalyze comes late, or never on a big table), and a planner that thinks few
# rows are queued would read every queued row to find these; by primary key it reads these.


def _record_postgresql(sent: list[Sent]) -> set[int]:
    outcomes = orjson.dumps(
        [
            {
                "id": s.delivery.pk,
                "status": s.outcome.status,
                "at": s.at,
                "provider": s.outcome.provider,
                "message_id": s.outcome.message_id,
                "response": s.outcome.response,
                "version": s.words.version,
                "render_ms": s.words.render_ms,
                "latency_ms": s.latency_ms,
            }
            for s in sent
        ]  # fmt: skip
    ).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SQL.format(table=Delivery._meta.db_table),
            [Delivery.Status.DELIVERED, outcomes, Delivery.Status.QUEUED],
        )
        return {row[0] for row in cursor.fetchall()}


def _record_one(sent: Sent) -> bool:
    fields = {
        "status": sent.outcome.status,
        "sent_at": sent.at,
        "attempts": F("attempts") + 1,
        "claimed_until": None,
        "provider": sent.outcome.provider,
        "provider_message_id": sent.outcome.message_id,
        "response": sent.outcome.response,
        "template_version": sent.words.version,
        "render_ms": sent.words.render_ms,
        "latency_ms": sent.latency_ms,
    }
    if sent.outcome.status == Delivery.Status.DELIVERED:
        fields["delivered_at"] = sent.at
    return bool(
        Delivery.objects.filter(pk=sent.delivery.pk, status=Delivery.Status.QUEUED).update(**fields)
    )


def outcomes_record(sent: list[Sent]) -> set[int]:
    """Record the outcomes of rows still queued, and their analytics events, in one
    transaction; return the ids recorded."""
    if not sent:
        return set()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            recorded = _record_postgresql(sent)
        else:
            recorded = {s.delivery.pk for s in sent if _record_one(s)}
        track_many(events=[_event(s) for s in sent if s.delivery.pk in recorded])
    return recorded


def live_events_publish(events: list[tuple[str, str, dict]]) -> None:
    """Send recorded deliveries' live events, in one event loop and only to users with a page
    open; failing, they are logged, never raised: the stored row is what the inbox shows."""
    if not events:
        return
    try:
        present = inbox_groups_present(groups=[group for group, _, _ in events])
    except Exception:
        logger.exception("asking which of %s inboxes are open failed", len(events))
        present = None
    if present is not None:
        events = [event for event in events if event[0] in present]
    broadcast_many(events=events)

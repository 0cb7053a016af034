"""The outbox: due deliveries are claimed for a lease, sent by channel and recorded.

A claim is a committed lease (`claimed_until`), so a worker that dies leaves its rows to be
claimed again when the lease ends. Only a still-queued row is sent, and only a still-queued
row is recorded, so a rerun never sends what a committed record says went out. The dispatch
loop keeps at most `most` rows leased and unsent, so no lease runs out while its batch waits
in the broker behind the others (its rows would be leased again, and two workers could send
them both): `most` must stay well within what the workers send in a LEASE.

Outcomes are recorded many at a time: one UPDATE for the lot, with their analytics events
(`notification_sent`, `notification_delivered`) in the same transaction, so the events count
what the records say. A transaction is committed once RECORD_EVERY outcomes wait, or the
oldest has waited RECORD_WITHIN, or right after a send that took SLOW_SEND or longer. A
commit and its statements cost as much as a few dozen rows recorded in it, so a commit a row
(or every few) was most of a fast provider's time; a slow provider, a network call a
message, still gets one a message. The price: a worker that dies resends what it handed over
since its last commit: with a fast provider up to RECORD_EVERY messages (a fraction of a
second of sending), with a slow one only the message it was handing over. A resent email
keeps its Message-ID, which mail systems may drop as a copy; an in-app row resent is only
its live event again.

In-app, the inbox row is the record: its delivery is DELIVERED once stored, and the live
event to the user's open pages goes after the record commits, in one event loop for the
lot and only to users with a page open (their inbox socket records that in the cache).
"""

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from analytics.services import AccountEvent, track_many
from mysetlist.core.broadcast import broadcast_many
from notifications.content.rendering import PARTS, Rendered, render, template_for
from notifications.delivery.breaker import circuit_failure, circuit_open_until, circuit_success
from notifications.delivery.push import NoSubscription, push_deliver, push_payload
from notifications.inbox import inbox_group
from notifications.models import Channel, Delivery, Notification
from notifications.planning.policy import POLICIES
from notifications.selectors import inbox_groups_present
from notifications.services import id_list, unsubscribe_token
from notifications.tracking.engagement import click_token

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF = dt.timedelta(seconds=30)  # doubled after each failed attempt
CLAIM = 2000  # rows leased in one transaction by the dispatch loop
RECORD_EVERY = 200  # outcomes recorded in one transaction, at most
RECORD_WITHIN = 1.0  # seconds the oldest unrecorded outcome waits, at most
SLOW_SEND = 0.05  # seconds: a send that took this long is recorded before the next one

# The parts of a notification's words each channel shows; only those are rendered.
CHANNEL_PARTS = {
    Channel.EMAIL: ("subject", "text", "html"),
    Channel.IN_APP: ("in_app_text",),
    Channel.PUSH: ("push_title", "push_body"),
    Channel.SMS: ("push_body",),
}


class PermanentError(Exception):
    """Retrying cannot help (no address, refused recipient)."""


@dataclass(frozen=True)
class Outcome:
    status: str
    provider: str = ""
    message_id: str = ""
    response: str = ""
    live: tuple[str, str, dict] | None = None  # group, event type, payload: sent once recorded


@dataclass(frozen=True)
class Sent:
    delivery: Delivery
    outcome: Outcome
    words: Rendered
    at: dt.datetime

    @property
    def latency_ms(self) -> int:
        return max(0, int((self.at - self.delivery.not_before).total_seconds() * 1000))


_CLAIM_SQL = """
UPDATE {table} SET claimed_until = %s
WHERE id IN (
    SELECT id FROM {table}
    WHERE status = %s AND not_before <= %s AND (claimed_until IS NULL OR claimed_until < %s)
    ORDER BY not_before LIMIT %s FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def deliveries_claim(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Lease up to `limit` due queued deliveries, oldest due first; return their ids."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # The due index gives the rows oldest first. Statistics lag a big fan-out,
                # and a planner that thinks few rows are queued would sort them all.
                cursor.execute("SET LOCAL enable_sort = off")
                cursor.execute(
                    _CLAIM_SQL.format(table=Delivery._meta.db_table),
                    [now + LEASE, Delivery.Status.QUEUED, now, now, limit],
                )
                return sorted(row[0] for row in cursor.fetchall())
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.QUEUED, not_before__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("not_before")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(claimed_until=now + LEASE)
    return ids


class Batch:
    """What the deliveries of one batch share: templates, the site's links, one open mail
    connection, and the outcomes waiting to be recorded."""

    TOKEN = "__token__"  # reverse() leaves it as it is (it would escape braces)

    def __init__(self):
        site = settings.SITE_URL.rstrip("/")
        self.preferences_url = site + reverse("notifications:preferences")
        self.unsubscribe_url = site + reverse("notifications:unsubscribe", args=[self.TOKEN])
        self.domain = urlsplit(site).hostname or "localhost"
        self.site = site + "/"
        self.click_prefix = site + reverse("notifications:click", args=[self.TOKEN])
        self.circuits: dict[str, dt.datetime | None] = {}
        self.templates: dict[str, object] = {}
        self._links: dict[int, dict] = {}
        self._connection = None
        self.waiting: list[Sent] = []
        self.oldest = 0.0  # when the oldest waiting outcome's send began (time.monotonic)

    def template(self, category: str):
        if category not in self.templates:
            self.templates[category] = template_for(category)
        return self.templates[category]

    def links(self, user_id: int) -> dict:
        if user_id not in self._links:
            head, _, tail = self.unsubscribe_url.rpartition(self.TOKEN)
            self._links[user_id] = {
                "preferences_url": self.preferences_url,
                "unsubscribe_url": head + unsubscribe_token(user_id) + tail,
            }
        return self._links[user_id]

    def click_url(self, delivery_id: int) -> str:
        head, _, tail = self.click_prefix.rpartition(self.TOKEN)
        return head + click_token(delivery_id) + tail

    def circuit(self, provider: str) -> dt.datetime | None:
        """Until when `provider`'s circuit is open, asked once a batch (and after a failure)."""
        if provider not in self.circuits:
            self.circuits[provider] = circuit_open_until(provider=provider)
        return self.circuits[provider]

    def mail_connection(self):
        """The batch's connection to the email provider, opened on first use: a provider
        that cannot be reached fails each email (retried), not the batch."""
        if self._connection is None:
            opened = mail.get_connection()
            opened.open()
            self._connection = opened
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def _send_email(delivery: Delivery, words: Rendered, links: dict, batch: Batch) -> Outcome:
    user = delivery.notification.user
    if not user.email:
        raise PermanentError("The user has no email address.")
    message = mail.EmailMultiAlternatives(
        subject=words.subject,
        body=words.text,
        to=[user.email],  # one recipient a message: tracking events name it unambiguously
        connection=batch.mail_connection(),
        headers={
            # The same on a resend, so the receiving side drops it as a copy.
            "Message-ID": f"<delivery.{delivery.pk}@{batch.domain}>",
            "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(words.html, "text/html")
    message.send()
    status = getattr(message, "anymail_status", None)
    message_id = str(status.message_id or "") if status else ""
    return Outcome(Delivery.Status.SENT, settings.EMAIL_BACKEND.rsplit(".", 2)[-2], message_id)


def _send_in_app(delivery: Delivery, words: Rendered) -> Outcome:
    notification = delivery.notification
    payload = {
        "id": notification.pk,
        "category": notification.category,
        "text": words.in_app_text,
        "created_at": notification.created_at.isoformat(),
    }
    # The inbox row is the record: stored and shown is delivered. Open pages hear of it
    # once that is committed.
    live = (inbox_group(notification.user_id), "inbox.notification", payload)
    return Outcome(Delivery.Status.DELIVERED, "inbox", live=live)


def _send_push(delivery: Delivery, words: Rendered, url: str) -> Outcome:
    notification = delivery.notification
    policy = POLICIES[notification.category]
    payload = push_payload(
        title=words.push_title, body=words.push_body, url=url,
        tag=f"notification-{notification.pk}", category=notification.category,
    )  # fmt: skip
    try:
        report = push_deliver(
            user_id=notification.user_id, payload=payload, ttl=policy.push_ttl,
            urgency=policy.push_urgency,
        )  # fmt: skip
    except NoSubscription as error:
        raise PermanentError(str(error) or "The user has no push subscription left.") from error
    return Outcome(Delivery.Status.SENT, "webpush", response=report.response)


def _send_sms(delivery: Delivery, words: Rendered, number: str) -> Outcome:
    if not number:
        raise PermanentError("The user has no SMS number.")
    # Only the console backend exists: a provider plugs in here.
    logger.info("SMS to %s: %s", number, words.push_body)
    return Outcome(Delivery.Status.SENT, "console")


def _send_one(delivery: Delivery, batch: Batch) -> tuple[Outcome, Rendered]:
    """Render one delivery and hand it to its channel; raise on failure."""
    notification = delivery.notification
    user = notification.user
    links = batch.links(user.pk)
    context = notification.context | links | {"user": user.get_username()}
    if delivery.channel in (Channel.EMAIL, Channel.PUSH) and context.get("url"):
        # Through the tracked link: the click is recorded, then the user lands on the url.
        context["url"] = batch.click_url(delivery.pk)
    parts = CHANNEL_PARTS.get(delivery.channel, PARTS)
    words = render(notification.category, context, batch.template(notification.category), parts)
    if delivery.channel == Channel.EMAIL:
        return _send_email(delivery, words, links, batch), words
    if delivery.channel == Channel.IN_APP:
        return _send_in_app(delivery, words), words
    if delivery.channel == Channel.PUSH:
        return _send_push(delivery, words, context.get("url", batch.site)), words
    if delivery.channel == Channel.SMS:
        preference = getattr(user, "notification_preference", None)
        return _send_sms(delivery, words, preference.sms_number if preference else ""), words
    raise PermanentError(f"No sender for the {delivery.channel} channel yet.")


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


def _record(sent: list[Sent]) -> set[int]:
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


def _publish(events: list[tuple[str, str, dict]]) -> None:
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


def _flush(batch: Batch) -> Counter[str]:
    """Record what the batch has sent, then tell open pages; return the statuses recorded."""
    sent, batch.waiting = batch.waiting, []
    recorded = _record(sent)
    mine = [s for s in sent if s.delivery.pk in recorded]
    _publish([s.outcome.live for s in mine if s.outcome.live])
    return Counter(s.outcome.status for s in mine)


def _queued(ids: list[int]) -> list[Delivery]:
    """The still-queued deliveries among `ids` with their notification, user and
    preferences; the channels of one notification share one of each."""
    # Found by primary key and the status checked here: a filter on the status would let
    # a planner with stale statistics read every queued row through the partial index.
    rows = [
        delivery
        for delivery in Delivery.objects.filter(pk__in=id_list(ids)).order_by("pk")
        if delivery.status == Delivery.Status.QUEUED
    ]
    notifications = {
        notification.pk: notification
        for notification in Notification.objects.filter(
            pk__in=id_list({delivery.notification_id for delivery in rows})
        ).select_related("user__notification_preference")
    }
    for delivery in rows:
        delivery.notification = notifications[delivery.notification_id]
    return rows


def _failed(delivery: Delivery, error: Exception, now: dt.datetime, permanent: bool) -> None:
    attempts = delivery.attempts + 1
    dead = permanent or attempts >= MAX_ATTEMPTS
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.FAILED if dead else Delivery.Status.QUEUED,
        attempts=attempts,
        claimed_until=None,
        not_before=delivery.not_before if dead else now + BACKOFF * 2 ** (attempts - 1),
        response=f"{type(error).__name__}: {error}"[:2000],
    )


def _provider(channel: str) -> str:
    """The outside service a channel hands messages to, whose circuit guards it."""
    if channel == Channel.EMAIL:
        return "email:" + settings.EMAIL_BACKEND
    if channel == Channel.PUSH:
        return "webpush"
    return ""


def _postpone(delivery: Delivery, until: dt.datetime) -> None:
    """Leave a delivery queued until its provider's circuit closes, costing no attempt."""
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.QUEUED).update(
        not_before=until, claimed_until=None, response="provider circuit open"
    )


def deliveries_send(*, ids: list[int]) -> dict[str, int]:
    """Send the still-queued deliveries among `ids`; return how many ended in each status."""
    rows = _queued(ids)
    counts: Counter[str] = Counter()
    batch = Batch()
    succeeded: set[str] = set()
    try:
        for delivery in rows:
            began = time.monotonic()
            provider = _provider(delivery.channel)
            if provider and (until := batch.circuit(provider)):
                _postpone(delivery, until)
                counts["postponed"] += 1
                continue
            try:
                outcome, words = _send_one(delivery, batch)
            except PermanentError as error:
                _failed(delivery, error, timezone.now(), permanent=True)
                counts["failed"] += 1
                continue
            except Exception as error:  # the provider or network: retried with backoff
                logger.warning("delivery %s failed: %s", delivery.pk, error)
                _failed(delivery, error, timezone.now(), permanent=False)
                counts["retry"] += 1
                if provider:
                    succeeded.discard(provider)
                    batch.circuits[provider] = circuit_failure(provider=provider)
                continue
            if provider:
                succeeded.add(provider)
            if not batch.waiting:
                batch.oldest = began
            batch.waiting.append(Sent(delivery, outcome, words, timezone.now()))
            done = time.monotonic()
            if (
                len(batch.waiting) >= RECORD_EVERY
                or done - began >= SLOW_SEND
                or done - batch.oldest >= RECORD_WITHIN
            ):
                counts += _flush(batch)
        counts += _flush(batch)
        for provider in succeeded:  # the last word on each provider was a success
            circuit_success(provider=provider)
    finally:
        if waiting := len(batch.waiting):  # stopped early (a time limit): keep what went out
            try:
                _flush(batch)
            except Exception:
                logger.exception("recording %s sent deliveries failed", waiting)
        batch.close()
    return dict(counts)


def deliveries_dispatch(*, hand, most: int = 20_000, batch: int = 2000) -> int:
    """Lease due deliveries and `hand` them to workers `batch` ids at a time, until `most`
    are leased and still unsent (the rest wait for the next run); return how many were
    handed. Beat runs this every few seconds; a big fan-out keeps the workers busy through
    `most` rows (several seconds of their work) between two runs."""
    now = timezone.now()
    room = (
        most - Delivery.objects.filter(status=Delivery.Status.QUEUED, claimed_until__gt=now).count()
    )
    handed = 0
    while handed < room and (
        ids := deliveries_claim(now=timezone.now(), limit=min(CLAIM, room - handed))
    ):
        for start in range(0, len(ids), batch):
            hand(ids[start : start + batch])
        handed += len(ids)
    return handed

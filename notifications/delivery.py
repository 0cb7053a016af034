"""The outbox: due deliveries are claimed for a lease, sent by channel and recorded.

A claim is a committed lease (`claimed_until`), so a worker that dies leaves its rows to be
claimed again when the lease ends. Each row's outcome is committed as soon as it is sent,
and only a still-queued row is sent, so a re-run sends nothing twice: at worst the one
message a worker was handing over when it died.
"""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from mysetlist.core.broadcast import broadcast

from .models import Channel, Delivery
from .rendering import Rendered, render, template_for
from .services import unsubscribe_token

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF = dt.timedelta(seconds=30)  # doubled after each failed attempt


class PermanentError(Exception):
    """Retrying cannot help (no address, refused recipient)."""


@dataclass(frozen=True)
class Outcome:
    status: str
    provider: str = ""
    message_id: str = ""
    response: str = ""


def inbox_group(user_id: int) -> str:
    return f"inbox.{user_id}"


def deliveries_claim(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Lease up to `limit` due queued deliveries, oldest due first; return their ids."""
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.QUEUED, not_before__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("not_before")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(claimed_until=now + LEASE)
    return ids


def _links(user) -> dict:
    site = settings.SITE_URL.rstrip("/")
    return {
        "preferences_url": site + reverse("notifications:preferences"),
        "unsubscribe_url": site
        + reverse("notifications:unsubscribe", args=[unsubscribe_token(user.pk)]),
    }


def _send_email(delivery: Delivery, words: Rendered, links: dict, connection) -> Outcome:
    user = delivery.notification.user
    if not user.email:
        raise PermanentError("The user has no email address.")
    message = mail.EmailMultiAlternatives(
        subject=words.subject,
        body=words.text,
        to=[user.email],  # one recipient a message: tracking events name it unambiguously
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(words.html, "text/html")
    message.send()
    status = getattr(message, "anymail_status", None)
    message_id = (status.message_id or "") if status else ""
    return Outcome(Delivery.Status.SENT, settings.EMAIL_BACKEND.rsplit(".", 2)[-2], message_id)


def _send_in_app(delivery: Delivery, words: Rendered) -> Outcome:
    notification = delivery.notification
    broadcast(
        group=inbox_group(notification.user_id),
        event_type="inbox.notification",
        payload={
            "id": notification.pk,
            "category": notification.category,
            "text": words.in_app_text,
            "created_at": notification.created_at.isoformat(),
        },
    )
    # The inbox row is the record: stored and shown is delivered.
    return Outcome(Delivery.Status.DELIVERED, "inbox")


def _send_sms(delivery: Delivery, words: Rendered, number: str) -> Outcome:
    if not number:
        raise PermanentError("The user has no SMS number.")
    # Only the console backend exists: a provider plugs in here.
    logger.info("SMS to %s: %s", number, words.push_body)
    return Outcome(Delivery.Status.SENT, "console")


def _record(delivery: Delivery, outcome: Outcome, now: dt.datetime, words: Rendered) -> None:
    fields = {
        "status": outcome.status,
        "sent_at": now,
        "attempts": F("attempts") + 1,
        "claimed_until": None,
        "provider": outcome.provider,
        "provider_message_id": outcome.message_id,
        "response": outcome.response,
        "template_version": words.version,
        "latency_ms": max(0, int((now - delivery.not_before).total_seconds() * 1000)),
    }
    if outcome.status == Delivery.Status.DELIVERED:
        fields["delivered_at"] = now
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.QUEUED).update(**fields)


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


def _send_one(delivery: Delivery, template, connection) -> tuple[Outcome, Rendered]:
    """Render one delivery and hand it to its channel; raise on failure."""
    notification = delivery.notification
    user = notification.user
    links = _links(user)
    context = notification.context | links | {"user": user.get_username()}
    words = render(notification.category, context, template)
    if delivery.channel == Channel.EMAIL:
        return _send_email(delivery, words, links, connection), words
    if delivery.channel == Channel.IN_APP:
        return _send_in_app(delivery, words), words
    if delivery.channel == Channel.SMS:
        preference = getattr(user, "notification_preference", None)
        return _send_sms(delivery, words, preference.sms_number if preference else ""), words
    raise PermanentError(f"No sender for the {delivery.channel} channel yet.")


def deliveries_send(*, ids: list[int]) -> dict[str, int]:
    """Send the still-queued deliveries among `ids`; return how many ended in each status."""
    rows = list(
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.QUEUED)
        .select_related("notification__user__notification_preference")
        .order_by("pk")
    )
    templates: dict[str, object] = {}
    counts: Counter[str] = Counter()
    connection = mail.get_connection()
    connection.open()
    try:
        for delivery in rows:
            category = delivery.notification.category
            if category not in templates:
                templates[category] = template_for(category)
            now = timezone.now()
            try:
                outcome, words = _send_one(delivery, templates[category], connection)
            except PermanentError as error:
                _failed(delivery, error, now, permanent=True)
                counts["failed"] += 1
                continue
            except Exception as error:  # the provider or network: retried with backoff
                logger.warning("delivery %s failed: %s", delivery.pk, error)
                _failed(delivery, error, now, permanent=False)
                counts["retry"] += 1
                continue
            _record(delivery, outcome, timezone.now(), words)
            counts[outcome.status] += 1
    finally:
        connection.close()
    return dict(counts)


def deliveries_dispatch(*, hand, most: int = 10_000, batch: int = 200) -> int:
    """Lease due deliveries `batch` at a time and `hand` each batch of ids to a worker,
    up to `most`, leaving the rest to the next run; return how many were handed."""
    handed = 0
    while handed < most and (ids := deliveries_claim(now=timezone.now(), limit=batch)):
        hand(ids)
        handed += len(ids)
    return handed

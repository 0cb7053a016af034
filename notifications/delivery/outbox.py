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

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.delivery.breaker import circuit_failure, circuit_success
from notifications.delivery.channels import Batch, PermanentError, Sent, send_one
from notifications.delivery.records import live_events_publish, outcomes_record
from notifications.models import Channel, Delivery, Notification
from notifications.services import id_list

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF = dt.timedelta(seconds=30)  # doubled after each failed attempt
CLAIM = 2000  # rows leased in one transaction by the dispatch loop
RECORD_EVERY = 200  # outcomes recorded in one transaction, at most
RECORD_WITHIN = 1.0  # seconds the oldest unrecorded outcome waits, at most
SLOW_SEND = 0.05  # seconds: a send that took this long is recorded before the next one


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


def _flush(batch: Batch) -> Counter[str]:
    """Record what the batch has sent, then tell open pages; return the statuses recorded."""
    sent, batch.waiting = batch.waiting, []
    recorded = outcomes_record(sent)
    mine = [s for s in sent if s.delivery.pk in recorded]
    live_events_publish([s.outcome.live for s in mine if s.outcome.live])
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
                outcome, words = send_one(delivery, batch)
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

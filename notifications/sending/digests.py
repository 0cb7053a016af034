"""Digests: the low-priority items a user asked to have batched, gathered into one
notification when their digest time comes. Held deliveries are rows whose `not_before` is
the digest time; beat picks them up, never a far-future Celery task."""

import datetime as dt
import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from experiments import services as experiments_services
from notifications.models import Category, Delivery, Notification
from notifications.selectors import inbox_texts
from notifications.services import recipients
from notifications.timing import scheduling
from predictions import selectors as predictions_selectors

USERS_PER_RUN = 500
logger = logging.getLogger(__name__)


def _items(notifications: list[Notification]) -> list[str]:
    """The digest's lines: each notification's in-app words, oldest first."""
    ordered = sorted(notifications, key=lambda n: (n.created_at, n.pk))
    texts = inbox_texts(notifications=ordered)
    return [texts[n.pk] for n in ordered]


def _recommended(user_id: int) -> list[str]:
    """Shows to suggest in a digest; none (logged) rather than no digest if that fails."""
    try:
        return predictions_selectors.recommendation_lines(user_id=user_id)
    except Exception:
        logger.exception("no recommendations for the digest of user %s", user_id)
        return []


@transaction.atomic
def digests_send(*, now: dt.datetime | None = None) -> int:
    """Gather each user's due held deliveries into one digest notification whose
    deliveries go out now on the channels that were held; return how many digests."""
    from notifications.tasks import deliveries_dispatch

    now = now or timezone.now()
    held = list(
        Delivery.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(status=Delivery.Status.HELD, not_before__lte=now)
        .select_related("notification")
        .order_by("notification__user_id", "pk")[: USERS_PER_RUN * 20]
    )
    by_user: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in held:
        by_user[delivery.notification.user_id].append(delivery)
    made = 0
    users = list(by_user)[:USERS_PER_RUN]
    # A digest goes at the configured hour or, timed, at the next likely open hour after it;
    # a notification experiment on digests gives its variant (and timing) as in a fan-out.
    choices = experiments_services.notification_variants(
        category=Category.DIGEST, user_ids=users, now=now
    )
    timer = scheduling.delivery_timer(
        category=Category.DIGEST,
        people=recipients(users, now),
        timings={user_id: choice.timing for user_id, choice in choices.items()},
        context={},
    )
    unchosen = experiments_services.TemplateChoice("", "")
    for user_id in users:
        rows = by_user[user_id]
        notifications = list({row.notification_id: row.notification for row in rows}.values())
        digest, created = Notification.objects.get_or_create(
            # The first held row names the digest: a rolled-back run made nothing, and a
            # committed one took its rows out of the held set.
            key=f"digest:{user_id}:{rows[0].pk}",
            defaults={
                "user_id": user_id,
                "category": Category.DIGEST,
                "context": {
                    "items": _items(notifications),
                    "recommended": _recommended(user_id),
                },
                "created_at": now,
            },
        )
        if created:
            experiment, variant = choices.get(user_id, unchosen).row()
            Delivery.objects.bulk_create(
                Delivery(
                    notification=digest,
                    channel=channel,
                    not_before=timer.when(
                        user_id=user_id,
                        channel=channel,
                        status=Delivery.Status.QUEUED,
                        not_before=now,
                    ),
                    experiment=experiment,
                    variant=variant,
                    created_at=now,
                )
                for channel in sorted({row.channel for row in rows})
            )
            made += 1
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=Delivery.Status.SKIPPED, digest=digest, response="sent in a digest"
        )
    if made:
        transaction.on_commit(deliveries_dispatch.delay, robust=True)
    return made

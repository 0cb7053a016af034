"""Reads of notifications: a user's inbox and preferences."""

import datetime as dt
from collections.abc import Sequence

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from experiments import services as experiments_services
from notifications.content.links import inbox_link
from notifications.content.rendering import render, template_for
from notifications.metrics.results import DeliveryTotals
from notifications.metrics.totals import totals_read
from notifications.models import Category, Channel, Delivery, Notification
from notifications.planning.policy import TIMINGS


def category_keys() -> list[str]:
    """Return the key of every category of notification."""
    return list(Category.values)


def delivery_timings() -> tuple[str, ...]:
    """Return the ways a non-urgent delivery may be timed, as a notification experiment's
    variant names them in its payload (`{"timing": ...}`)."""
    return TIMINGS


def inbox_visible(*, user) -> QuerySet[Notification]:
    """Return the notifications in the user's inbox: shown in-app and not dismissed."""
    shown = Delivery.objects.filter(
        notification=OuterRef("pk"), channel=Channel.IN_APP, status=Delivery.Status.DELIVERED
    )
    return Notification.objects.filter(Exists(shown), user=user, dismissed_at=None)


def inbox_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    """Return the user's inbox, newest first."""
    notifications = inbox_visible(user=user)
    if unread_only:
        notifications = notifications.filter(read_at=None)
    return notifications.order_by("-created_at", "-id")


def inbox_unread_count(*, user) -> int:
    return inbox_visible(user=user).filter(read_at=None).count()


def inbox_texts(*, notifications) -> dict[int, str]:
    """Return each notification's in-app words, by id, with the current templates."""
    notifications = list(notifications)
    variants = {
        pk: experiments_services.template_variant_now(experiment=experiment, variant=variant)
        for pk, experiment, variant in Delivery.objects.filter(
            notification__in=notifications  # one variant a notification
        )
        .exclude(variant="")
        .values_list("notification_id", "experiment", "variant")
    }
    templates = {}
    texts = {}
    for notification in notifications:
        # The words of the experiment variant its delivery got, if it was in one.
        which = (notification.category, variants.get(notification.pk, ""))
        if which not in templates:
            templates[which] = template_for(which[0], variant=which[1])
        words = render(which[0], notification.context, templates[which], ("in_app_text",))
        texts[notification.pk] = words.in_app_text
    return texts


def inbox_items(*, notifications) -> list[dict]:
    """Return what the inbox shows of each notification: its words, link and state. A link
    stored before links were checked, and going elsewhere, is left out."""
    texts = inbox_texts(notifications=notifications)
    return [
        {
            "id": n.pk,
            "category": n.category,
            "text": texts[n.pk],
            "url": inbox_link(n.context),
            "created_at": n.created_at,
            "read_at": n.read_at,
        }
        for n in notifications
    ]


def inbox_presence_key(group: str) -> str:
    """Return the cache key that says a page with this inbox group's websocket is open."""
    return f"notifications:presence:{group}"


def inbox_groups_present(*, groups: list[str]) -> set[str] | None:
    """Return the inbox groups with a page open somewhere, in one cache round trip; None when
    the cache is this process's own (the embedded setup), which cannot tell: send to all."""
    cache = caches["default"]
    if isinstance(cache, LocMemCache | DummyCache):
        return None
    found = cache.get_many([inbox_presence_key(group) for group in groups])
    return {group for group in groups if inbox_presence_key(group) in found}


def experiment_delivery_outcomes(
    *, experiment: str, since: dt.datetime, until: dt.datetime | None = None
) -> dict[int, tuple[bool, bool, bool]]:
    """Return, by user id, whether any delivery a notification experiment gave the user
    between `since` and `until` (fan-out time) was opened, clicked, converted (a vote after
    its click)."""
    deliveries = Delivery.objects.filter(experiment=experiment, created_at__gte=since)
    if until is not None:
        deliveries = deliveries.filter(created_at__lt=until)
    rows = (
        deliveries.values("notification__user_id")
        .annotate(
            opened=Count("id", filter=Q(opened_at__isnull=False) | Q(clicked_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            converted=Count("id", filter=Q(converted_at__isnull=False)),
        )
        .order_by()
    )
    return {
        row["notification__user_id"]: (row["opened"] > 0, row["clicked"] > 0, row["converted"] > 0)
        for row in rows
    }


def delivery_totals(
    *,
    start: dt.datetime,
    end: dt.datetime,
    by: Sequence[str] = (),
    every: str | None = None,
) -> list[DeliveryTotals]:
    """Return what deliveries did from `start` to `end` (whole UTC minutes), from the
    rollups: counts, failure rate and latency percentiles per value of the `by` dimensions
    (channel, category, template_version, experiment, variant, provider) and, with `every`
    ("minute", "hour" or "day"), per bucket of that size.

    For live figures such as deliveries a minute (`every="minute"`) or the failure rate by
    provider and channel (`by=("provider", "channel")`). Outcomes count at their own times
    (see notifications.models.DeliveryRollup); the current minute fills in as it passes.
    Reads the coarsest rows that fit the window exactly. Raises ApplicationError for a bad
    window, dimension or bucket size.
    """
    return totals_read(start=start, end=end, by=by, every=every)

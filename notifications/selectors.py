"""Reads of notifications: a user's inbox and preferences."""

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db.models import Exists, OuterRef, QuerySet

from notifications.content.links import link_allowed
from notifications.content.rendering import render, template_for
from notifications.models import Channel, Delivery, Notification


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
    templates = {}
    texts = {}
    for notification in notifications:
        category = notification.category
        if category not in templates:
            templates[category] = template_for(category)
        words = render(category, notification.context, templates[category], ("in_app_text",))
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
            "url": url if link_allowed(url := n.context.get("url", "")) else "",
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

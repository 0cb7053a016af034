"""The in-app inbox: what a user reads, marks read and dismisses, live on every open page."""

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from analytics.services import track
from mysetlist.core.broadcast import broadcast
from mysetlist.core.exceptions import NotFoundError
from notifications.models import Notification
from notifications.selectors import inbox_presence_key, inbox_unread_count, inbox_visible

# An open inbox socket says so every PRESENCE_REFRESH seconds; the word lasts PRESENCE_TTL.
PRESENCE_REFRESH = 30
PRESENCE_TTL = 75


def inbox_group(user_id: int) -> str:
    return f"inbox.{user_id}"


def inbox_presence_record(*, user_id: int) -> None:
    """Record that a page with the user's inbox is open, for PRESENCE_TTL seconds.

    Nothing removes it when a page closes: the user may have other pages open, in this web
    server or another, which would go unheard until they next renew it. A closed page costs
    at most PRESENCE_TTL seconds of live events sent to nobody.
    """
    cache.set(inbox_presence_key(inbox_group(user_id)), 1, PRESENCE_TTL)


def _announce_count(user) -> None:
    """Tell the user's open pages the new unread count once this transaction commits."""
    transaction.on_commit(
        lambda: broadcast(
            group=inbox_group(user.pk),
            event_type="inbox.count",
            payload={"unread": inbox_unread_count(user=user)},
        ),
        robust=True,
    )


def _own(user, notification_id: int) -> Notification:
    notification = (
        inbox_visible(user=user).select_for_update(of=("self",)).filter(pk=notification_id).first()
    )
    if notification is None:
        raise NotFoundError("No such notification in your inbox.")
    return notification


def _track(user, event: str, notification: Notification) -> None:
    track(
        event=event,
        user=user,
        properties={"notification_id": notification.pk, "category": notification.category},
    )


@transaction.atomic
def notification_read(*, user, notification_id: int) -> Notification:
    """Mark one notification of the user's inbox read; reading twice changes nothing."""
    notification = _own(user, notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        _track(user, "notification_read", notification)
        _announce_count(user)
    return notification


@transaction.atomic
def notifications_read_all(*, user) -> int:
    """Mark every unread notification of the user's inbox read; return how many."""
    marked = inbox_visible(user=user).filter(read_at=None).update(read_at=timezone.now())
    if marked:
        _announce_count(user)
    return marked


@transaction.atomic
def notification_dismiss(*, user, notification_id: int) -> Notification:
    """Take one notification out of the user's inbox (it stays on record)."""
    notification = _own(user, notification_id)
    notification.dismissed_at = timezone.now()
    notification.save(update_fields=["dismissed_at"])
    _track(user, "notification_dismissed", notification)
    _announce_count(user)
    return notification

"""Writing notifications: fan-out of a trigger to many users, and a user's own changes."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone

from .models import Delivery, Notification, NotificationPreference, PushSubscription
from .planning import Recipient, plan
from .policy import INTERRUPTING, POLICIES
from .rules import next_local_day

User = get_user_model()

CHUNK = 2000  # users per transaction of a fan-out


def _sent_today(user_ids: list[int], zones: dict, now: dt.datetime) -> dict[int, int]:
    """Per user: non-urgent notifications with an interrupting delivery due within their
    current local day. Asked only for users who set a cap."""
    if not user_ids:
        return {}
    rows = (
        Delivery.objects.filter(
            notification__user_id__in=user_ids,
            notification__urgent=False,
            channel__in=INTERRUPTING,
            not_before__gte=now - dt.timedelta(days=2),
            not_before__lte=now + dt.timedelta(days=2),
        )
        .values_list("notification__user_id", "notification_id", "not_before")
        .distinct()
    )
    today_ends = {user_id: next_local_day(now, zones[user_id]) for user_id in user_ids}
    seen: dict[int, set[int]] = defaultdict(set)
    for user_id, notification_id, due in rows:
        if today_ends[user_id] - dt.timedelta(days=1) <= due < today_ends[user_id]:
            seen[user_id].add(notification_id)
    return {user_id: len(ids) for user_id, ids in seen.items()}


def recipients(user_ids: Iterable[int], now: dt.datetime) -> dict[int, Recipient]:
    """What planning needs of each user, in a few queries for the lot."""
    users = {
        pk: (email, zone)
        for pk, email, zone in User.objects.filter(pk__in=user_ids, is_active=True).values_list(
            "pk", "email", "timezone"
        )
    }
    prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=users)}
    with_push = set(
        PushSubscription.objects.filter(user_id__in=users).values_list("user_id", flat=True)
    )
    zones = {pk: zone for pk, (_, zone) in users.items()}
    capped = [pk for pk, p in prefs.items() if p.daily_cap is not None]
    counts = _sent_today(capped, zones, now)
    result = {}
    for pk, (email, zone) in users.items():
        p = prefs.get(pk)
        base = {
            "user_id": pk,
            "timezone": zone,
            "has_email": bool(email),
            "has_push": pk in with_push,
        }
        if p:
            base |= {
                "sms_number": p.sms_number,
                "disabled": frozenset(p.disabled),
                "unsubscribed_all": p.unsubscribed_all,
                "quiet_start": p.quiet_start,
                "quiet_end": p.quiet_end,
                "daily_cap": p.daily_cap,
                "sent_today": counts.get(pk, 0),
                "digest": p.digest,
                "digest_hour": p.digest_hour,
            }
        result[pk] = Recipient(**base)
    return result


def _notify_chunk(category: str, user_ids: list[int], key: str, context: dict, now) -> int:
    urgent = POLICIES[category].urgent
    keys = [f"{key}:{pk}" for pk in user_ids]
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=pk, category=category, key=k, context=context, urgent=urgent, created_at=now
            )
            for pk, k in zip(user_ids, keys, strict=True)
        ],  # fmt: skip
        ignore_conflicts=True,
        batch_size=1000,
    )
    # Those of this trigger with no delivery yet: new ones. A repeated trigger finds none.
    fresh = list(
        Notification.objects.filter(key__in=keys, deliveries__isnull=True).values_list(
            "pk", "user_id"
        )
    )
    people = recipients([user_id for _, user_id in fresh], now)
    deliveries = [
        Delivery(
            notification_id=pk, channel=p.channel, status=p.status, not_before=p.not_before,
            created_at=now,
        )
        for pk, user_id in fresh
        if user_id in people
        for p in plan(people[user_id], category, now)
    ]  # fmt: skip
    Delivery.objects.bulk_create(deliveries, batch_size=1000)
    return len(fresh)


def notify(*, category: str, user_ids: Iterable[int], key: str, context: dict, now=None) -> int:
    """Tell each user about one trigger (`key`, say "show_announced:42"): one Notification
    per user however often the trigger fires, and its deliveries as each user's
    preferences say. Returns how many notifications were new. Workers send them."""
    from .tasks import deliveries_dispatch

    now = now or timezone.now()
    user_ids = sorted(set(user_ids))
    created = 0
    for start in range(0, len(user_ids), CHUNK):
        with transaction.atomic():
            created += _notify_chunk(category, user_ids[start : start + CHUNK], key, context, now)
    if created:
        transaction.on_commit(deliveries_dispatch.delay)
    return created


def preference_for(user) -> NotificationPreference:
    """The user's preferences, made with the defaults on first use."""
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    return preference


_UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def unsubscribe_token(user_id: int) -> str:
    """The credential of a user's unsubscribe link: signed, so it needs no stored row."""
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign(str(user_id)).replace(":", ".")


def unsubscribe_user(token: str):
    """The user an unsubscribe token names, or None if it is not one of ours."""
    try:
        user_id = signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign(token.replace(".", ":"))
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=user_id).first()


def unsubscribe(*, user) -> None:
    """Stop every email to this user, and drop the emails still waiting to go."""
    with transaction.atomic():
        preference = preference_for(user)
        preference.unsubscribed_all = True
        preference.save(update_fields=["unsubscribed_all", "updated_at"])
        Delivery.objects.filter(
            notification__user_id=user.pk,
            channel="email",
            status__in=[Delivery.Status.QUEUED, Delivery.Status.HELD],
        ).update(status=Delivery.Status.SKIPPED, response="unsubscribed")

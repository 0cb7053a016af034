"""What people do with what they were sent: clicks through a tracked link, and votes that
follow a click (conversions). Email opens and provider events come from tracking/providers.py."""

import datetime as dt

from django.core import signing
from django.db import transaction
from django.utils import timezone

from analytics.services import track
from notifications.models import Delivery

CONVERSION_WINDOW = dt.timedelta(hours=24)
_CLICK_SALT = "notifications.click"


def click_token(delivery_id: int) -> str:
    """Return the credential of a delivery's tracked link: signed, so it needs no row."""
    return signing.Signer(salt=_CLICK_SALT).sign(str(delivery_id)).replace(":", ".")


def _track(delivery: Delivery, event: str, since: dt.datetime | None, now: dt.datetime) -> None:
    notification = delivery.notification
    track(
        event=event,
        user=notification.user,
        properties={
            "notification_id": notification.pk,
            "delivery_id": delivery.pk,
            "channel": delivery.channel,
            "category": notification.category,
            "provider": delivery.provider,
            "template_version": delivery.template_version,
            "seconds_since_sent": (now - since).total_seconds() if since else None,
        },
    )


@transaction.atomic
def delivery_click(*, token: str) -> str | None:
    """Record the first click on a delivery's tracked link; return where the link goes,
    or None if the token is not one of ours. A click on an email implies it was opened."""
    try:
        delivery_id = int(signing.Signer(salt=_CLICK_SALT).unsign(token.replace(".", ":")))
    except (signing.BadSignature, ValueError):
        return None
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("notification__user")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return None
    if delivery.clicked_at is None:
        now = timezone.now()
        delivery.clicked_at = now
        delivery.opened_at = delivery.opened_at or now
        delivery.save(update_fields=["clicked_at", "opened_at"])
        _track(delivery, "notification_clicked", delivery.sent_at, now)
    return str(delivery.notification.context.get("url") or "/")


def conversions_record(*, user_id: int, show_id: int, now: dt.datetime | None = None) -> int:
    """A vote at a show a user clicked through to within a day converts those deliveries;
    return how many.

    Every vote asks, and almost every answer is none: one narrow read without a transaction
    says so, and only deliveries found are locked and converted.
    """
    now = now or timezone.now()
    found = list(
        Delivery.objects.filter(
            notification__user_id=user_id,
            notification__context__show_id=show_id,
            clicked_at__gte=now - CONVERSION_WINDOW,
            converted_at=None,
        )
        .order_by()
        .values_list("pk", flat=True)
    )
    if not found:
        return 0
    with transaction.atomic():
        converted = list(
            Delivery.objects.select_related("notification__user")
            .select_for_update(of=("self",))
            .filter(pk__in=found, converted_at=None)
        )
        for delivery in converted:
            _track(delivery, "notification_converted", delivery.clicked_at, now)
        Delivery.objects.filter(pk__in=[d.pk for d in converted]).update(converted_at=now)
    return len(converted)

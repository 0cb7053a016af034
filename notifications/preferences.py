"""A user's own changes to what they are sent."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q

from mysetlist.core.exceptions import ApplicationError
from notifications.models import Category, Channel, Delivery, NotificationPreference

PAIRS = [f"{category}:{channel}" for category in Category.values for channel in Channel.values]


def preference_for(user) -> NotificationPreference:
    """Return the user's preferences, made with the defaults on first use."""
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    return preference


def enabled_pairs(preference: NotificationPreference) -> dict[str, dict[str, bool]]:
    """Return {category: {channel: on?}} for every category and channel."""
    off = set(preference.disabled or [])
    return {
        category: {channel: f"{category}:{channel}" not in off for channel in Channel.values}
        for category in Category.values
    }


_UNSET = object()
# An SMS number in international form, or none: the API's schema gives the same pattern.
SMS_NUMBER_PATTERN = r"^(\+[1-9][0-9]{6,14})?$"
SMS_NUMBER_RULE = "An international number: + and 7 to 15 digits."


@transaction.atomic
def preference_update(
    *,
    user,
    channels: dict[str, dict[str, bool]] | None = None,
    timezone: ZoneInfo | None = None,
    quiet_start: dt.time | None | object = _UNSET,
    quiet_end: dt.time | None | object = _UNSET,
    daily_cap: int | None | object = _UNSET,
    digest: str | None = None,
    digest_hour: int | None = None,
    unsubscribed_all: bool | None = None,
    sms_number: str | None = None,
) -> NotificationPreference:
    """Change what is given and keep the rest; return the preferences.

    A channel switched off also drops what was still waiting to go on it, so a user who
    says "stop" hears nothing more of it.
    """
    preference = NotificationPreference.objects.select_for_update().get(pk=preference_for(user).pk)
    if channels is not None:
        unknown = [
            f"{category}:{channel}"
            for category, by_channel in channels.items()
            for channel in by_channel
            if f"{category}:{channel}" not in PAIRS
        ]
        if unknown:
            raise ApplicationError(
                "Unknown category or channel.", extra={"fields": {"channels": unknown}}
            )
        off = set(preference.disabled or [])
        for category, by_channel in channels.items():
            for channel, on in by_channel.items():
                (off.discard if on else off.add)(f"{category}:{channel}")
        preference.disabled = [pair for pair in PAIRS if pair in off]
    for name, value in {"quiet_start": quiet_start, "quiet_end": quiet_end}.items():
        if value is not _UNSET:
            setattr(preference, name, value)
    if daily_cap is not _UNSET:
        preference.daily_cap = daily_cap
    for name, value in {
        "digest": digest,
        "digest_hour": digest_hour,
        "unsubscribed_all": unsubscribed_all,
        "sms_number": sms_number,
    }.items():
        if value is not None:
            setattr(preference, name, value)
    if sms_number is not None and not re.fullmatch(SMS_NUMBER_PATTERN, sms_number):
        raise ApplicationError(SMS_NUMBER_RULE, extra={"fields": {"sms_number": [SMS_NUMBER_RULE]}})
    if (preference.quiet_start is None) != (preference.quiet_end is None):
        raise ApplicationError(
            "Give quiet hours both a start and an end, or neither.",
            extra={"fields": {"quiet_hours": ["Both a start and an end, or neither."]}},
        )
    preference.full_clean(exclude=["user"])
    preference.save()
    if timezone is not None and timezone != user.timezone:
        user.timezone = timezone
        user.save(update_fields=["timezone"])
    _drop_waiting(preference)
    return preference


def _drop_waiting(preference: NotificationPreference) -> None:
    """Skip the deliveries still waiting on a channel the user has now turned off."""
    off = Q()
    for pair in preference.disabled or []:
        category, channel = pair.split(":")
        off |= Q(notification__category=category, channel=channel)
    if preference.unsubscribed_all:
        off |= Q(channel=Channel.EMAIL)
    if not off:
        return
    Delivery.objects.filter(
        off,
        notification__user_id=preference.user_id,
        status__in=[Delivery.Status.QUEUED, Delivery.Status.HELD],
    ).update(status=Delivery.Status.SKIPPED, response="turned off by the user")

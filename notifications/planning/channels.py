"""Which channels a notification goes on for one user, and from when. Pure Python: the
fan-out loads what it needs for many users at once and asks this for each."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from notifications.models import Channel, Delivery
from notifications.planning.policy import INTERRUPTING, POLICIES
from notifications.planning.timing import next_digest, next_local_day, quiet_hours_end


@dataclass(frozen=True)
class Recipient:
    user_id: int
    timezone: ZoneInfo
    has_email: bool
    has_push: bool
    sms_number: str = ""
    disabled: frozenset[str] = frozenset()  # "category:channel"
    unsubscribed_all: bool = False  # from every email
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None
    daily_cap: int | None = None
    sent_today: int = 0  # non-urgent interrupting notifications since local midnight
    digest: str = "off"
    digest_hour: int = 9


@dataclass(frozen=True)
class Plan:
    channel: str
    status: str
    not_before: dt.datetime


def plan(recipient: Recipient, category: str, now: dt.datetime) -> list[Plan]:
    """The deliveries of one notification: a channel the user turned off, or cannot receive
    on, gets none; in-app goes now; the others wait out a digest, the daily cap and quiet
    hours unless the category is urgent."""
    policy = POLICIES[category]
    reachable = {
        Channel.IN_APP: True,
        Channel.EMAIL: recipient.has_email and not recipient.unsubscribed_all,
        Channel.PUSH: recipient.has_push,
        Channel.SMS: bool(recipient.sms_number),
    }
    plans = []
    for channel, can in reachable.items():
        if not can or f"{category}:{channel}" in recipient.disabled:
            continue
        if channel not in INTERRUPTING or policy.urgent:
            plans.append(Plan(channel, Delivery.Status.QUEUED, now))
            continue
        if policy.digestible and recipient.digest != "off":
            when = next_digest(
                now,
                recipient.timezone,
                weekly=recipient.digest == "weekly",
                hour=recipient.digest_hour,
            )
            plans.append(Plan(channel, Delivery.Status.HELD, when))
            continue
        when = now
        if recipient.daily_cap is not None and recipient.sent_today >= recipient.daily_cap:
            when = next_local_day(now, recipient.timezone)
        when = quiet_hours_end(when, recipient.timezone, recipient.quiet_start, recipient.quiet_end)
        plans.append(Plan(channel, Delivery.Status.QUEUED, when))
    return plans

"""Delivery timing: a non-urgent delivery waits for its recipient's next likely open hour.

The fan-out (and the digest run, for a digest's deliveries) plans each delivery as before
(channels, quiet hours, the daily cap), then asks a DeliveryTimer when it goes. The answer
is a `not_before` on the delivery row, which the dispatch loop picks up when it is due;
nothing waits in a delayed Celery task.

A delivery is timed only if all hold: it is queued on an interrupting channel (email, push,
SMS; in-app is a record and goes now), its category is not urgent (policy.POLICIES), the
recipient's timing is "open_hours" (their notification experiment's variant says so, or
else the NOTIFICATIONS_DELIVERY_TIMING setting), and they have a trusted open-hour profile
in their present timezone. It then goes at the first likely open hour outside quiet hours
from when it could first go, waiting at most MAX_DELAY and, for news of a show still open
for votes (policy.UNTIL_VOTING_CLOSES), never later than RELEVANCE_MARGIN before voting
closes; with no such hour in reach it goes at once. Users without enough evidence: at once.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from mysetlist.core.exceptions import NotFoundError
from mysetlist.setlists import selectors as setlists_selectors
from notifications.models import Delivery
from notifications.planning.channels import Recipient
from notifications.planning.policy import INTERRUPTING, OPEN_HOURS, POLICIES, UNTIL_VOTING_CLOSES
from notifications.planning.timing import next_open_hour
from notifications.timing import profiles

MAX_DELAY = dt.timedelta(hours=12)
RELEVANCE_MARGIN = dt.timedelta(hours=1)


def relevant_until(*, category: str, context: dict) -> dt.datetime | None:
    """Return the latest a notification of `category` about the show in `context` is worth
    sending at: shortly before voting on the show closes; None: no limit but MAX_DELAY."""
    show_id = context.get("show_id")
    if category not in UNTIL_VOTING_CLOSES or not isinstance(show_id, int):
        return None
    try:
        show = setlists_selectors.show_get(show_id=show_id)
    except NotFoundError:
        return None
    return setlists_selectors.show_voting_closes_at(show=show) - RELEVANCE_MARGIN


@dataclass(frozen=True)
class DeliveryTimer:
    """When each delivery of one category's fan-out goes."""

    category: str
    people: dict[int, Recipient]
    hours: dict[int, frozenset[int]] = field(default_factory=dict)  # timed users' likely hours
    latest: dt.datetime | None = None  # the notification's relevance ends

    def when(self, *, user_id: int, channel: str, status: str, not_before: dt.datetime):
        """Return the `not_before` of a delivery planned for `not_before`."""
        hours = self.hours.get(user_id)
        if not hours or status != Delivery.Status.QUEUED or channel not in INTERRUPTING:
            return not_before
        latest = not_before + MAX_DELAY
        if self.latest is not None:
            latest = min(latest, self.latest)
        person = self.people[user_id]
        return next_open_hour(
            not_before,
            person.timezone,
            hours,
            latest=latest,
            quiet_start=person.quiet_start,
            quiet_end=person.quiet_end,
        )


def delivery_timer(
    *, category: str, people: dict[int, Recipient], timings: dict[int, str], context: dict
) -> DeliveryTimer:
    """Return the timer of a fan-out of `category` to `people`, whose experiment variants
    named `timings` (by user id; "" or missing: the setting's)."""
    if POLICIES[category].urgent:
        return DeliveryTimer(category=category, people=people)
    default = settings.NOTIFICATIONS_DELIVERY_TIMING
    timed = {
        user_id: person.timezone
        for user_id, person in people.items()
        if (timings.get(user_id) or default) == OPEN_HOURS
    }
    hours = profiles.open_hours_of(zones=timed)
    if not hours:  # nobody waits: no need to look the show up
        return DeliveryTimer(category=category, people=people)
    return DeliveryTimer(
        category=category,
        people=people,
        hours=hours,
        latest=relevant_until(category=category, context=context),
    )

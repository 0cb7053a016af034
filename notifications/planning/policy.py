"""What each category is: how urgent, whether a digest may take it, how push treats it."""

from dataclasses import dataclass

from notifications.models import Category


@dataclass(frozen=True)
class CategoryPolicy:
    urgent: bool  # goes through quiet hours and caps
    digestible: bool  # a user's digest may batch it
    push_ttl: int  # seconds a push service keeps an undelivered push
    push_urgency: str  # RFC 8030: very-low, low, normal, high


POLICIES = {
    Category.SHOW_ANNOUNCED: CategoryPolicy(False, True, 86400 * 3, "normal"),
    Category.VOTING_OPENED: CategoryPolicy(False, False, 86400, "normal"),
    Category.VOTING_CLOSING: CategoryPolicy(True, False, 3600, "high"),
    Category.VOTING_CLOSED: CategoryPolicy(False, True, 86400, "low"),
    Category.PREDICTION_PUBLISHED: CategoryPolicy(False, True, 86400, "low"),
    Category.SETLIST_POSTED: CategoryPolicy(False, True, 86400 * 3, "low"),
    Category.DIGEST: CategoryPolicy(False, False, 86400, "low"),
    # Staff alerts go through quiet hours and caps, never into a digest.
    Category.ALERT_FIRING: CategoryPolicy(True, False, 3600, "high"),
    Category.ALERT_RESOLVED: CategoryPolicy(True, False, 3600, "normal"),
    # Staff reports wait for quiet hours, and come alone, not in a digest.
    Category.REPORT_READY: CategoryPolicy(False, False, 86400, "low"),
}

# In-app is the record and never interrupts: quiet hours, caps and digests hold the others.
INTERRUPTING = ("email", "push", "sms")

# Delivery timing (notifications/timing/): an interrupting delivery of a category that is not
# urgent (see POLICIES: "voting closes soon" and staff alerts are, and go at once) may wait
# for the recipient's next likely open hour, for at most MAX_DELAY after it could first go.
# Those below are news about a show still to be voted on: they also never wait past
# RELEVANCE_MARGIN before voting on the show closes. The others (voting closed, the setlist,
# a digest) are as good hours later: they only have MAX_DELAY.
UNTIL_VOTING_CLOSES = frozenset(
    {Category.SHOW_ANNOUNCED, Category.VOTING_OPENED, Category.PREDICTION_PUBLISHED}
)

# How a non-urgent delivery is timed: at once, or at the recipient's next likely open hour.
# A notification experiment's variant may name one (`{"timing": "open_hours"}`); otherwise
# the NOTIFICATIONS_DELIVERY_TIMING setting decides.
IMMEDIATE = "immediate"
OPEN_HOURS = "open_hours"
TIMINGS = (IMMEDIATE, OPEN_HOURS)

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

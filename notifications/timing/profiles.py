"""Open-hour profiles: each user's likely open hours, from the times they opened or clicked
their notifications (notifications.planning.open_hours does the maths), stored in
OpenHourProfile and refreshed daily.

Beat's run lists the users to refresh (anyone who engaged within the window, and anyone
with a profile, so a stale one is cleared) and hands them to workers BATCH at a time; a
batch reads its users' engagements in one query and writes their profiles in one upsert.
A hundred thousand users are a hundred small tasks, each safe to run twice.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications import services  # its id_list; a module import, as services uses this
from notifications.models import Delivery, OpenHourProfile
from notifications.planning.open_hours import WINDOW_DAYS, open_hours

User = get_user_model()

BATCH = 1000  # users a task


def _since(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=WINDOW_DAYS)


def open_hours_refresh(
    *, hand: Callable[[list[int]], object], now: dt.datetime | None = None
) -> int:
    """Hand the users whose profile may change to `hand`, BATCH ids at a time; return how
    many users."""
    now = now or timezone.now()
    since = _since(now)
    engaged = set(
        Delivery.objects.filter(Q(opened_at__gte=since) | Q(clicked_at__gte=since))
        .values_list("notification__user_id", flat=True)
        .distinct()
    )
    stored = set(OpenHourProfile.objects.values_list("user_id", flat=True))
    user_ids = sorted(engaged | stored)
    for start in range(0, len(user_ids), BATCH):
        hand(user_ids[start : start + BATCH])
    return len(user_ids)


@transaction.atomic
def open_hours_refresh_batch(*, user_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Compute and store the profile of each of the users with engagement in the window;
    delete the profile of those without. Return how many profiles were written."""
    user_ids = list(user_ids)
    now = now or timezone.now()
    since = _since(now)
    zones: dict[int, ZoneInfo] = dict(
        User.objects.filter(pk__in=services.id_list(user_ids)).values_list("pk", "timezone")
    )
    clicks: dict[int, list[dt.datetime]] = defaultdict(list)
    opens: dict[int, list[dt.datetime]] = defaultdict(list)
    for user_id, opened_at, clicked_at in (
        Delivery.objects.filter(notification__user_id__in=services.id_list(zones))
        .filter(Q(opened_at__gte=since) | Q(clicked_at__gte=since))
        .values_list("notification__user_id", "opened_at", "clicked_at")
    ):
        # One engagement a delivery: its click if it had one (a person acting), else its open.
        if clicked_at is not None:
            clicks[user_id].append(clicked_at)
        else:
            opens[user_id].append(opened_at)
    rows = []
    for user_id, zone in zones.items():
        if user_id not in clicks and user_id not in opens:
            continue
        profile = open_hours(clicks=clicks[user_id], opens=opens[user_id], zone=zone, now=now)
        rows.append(
            OpenHourProfile(
                user_id=user_id,
                timezone=str(zone),
                likely=list(profile.likely) if profile.trusted else [],
                best_hour=profile.best_hour,
                shares=[round(share, 5) for share in profile.shares],
                evidence=round(profile.evidence, 3),
                engagements=profile.engagements,
                confidence=round(profile.confidence, 4),
                computed_at=now,
            )
        )
    OpenHourProfile.objects.filter(user_id__in=services.id_list(user_ids)).exclude(
        user_id__in=[row.user_id for row in rows]
    ).delete()
    OpenHourProfile.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=[
            "timezone", "likely", "best_hour", "shares", "evidence", "engagements",
            "confidence", "computed_at",
        ],
        batch_size=BATCH,
    )  # fmt: skip
    return len(rows)


def open_hours_of(*, zones: dict[int, ZoneInfo]) -> dict[int, frozenset[int]]:
    """Return the likely open hours of each of the users (by id, with their timezone now)
    who has a trusted profile computed in that timezone."""
    if not zones:
        return {}
    return {
        user_id: frozenset(likely)
        for user_id, zone, likely in OpenHourProfile.objects.filter(
            user_id__in=services.id_list(zones)
        ).values_list("user_id", "timezone", "likely")
        if likely and zone == str(zones[user_id])
    }

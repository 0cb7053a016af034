"""Domain events that followers hear about: a trigger row is written in the transaction of
the change itself (`services.trigger_record`, which the setlist services call), then fanned
out to the artist's followers by a worker.

The row is the outbox: a fan-out whose enqueue was lost or whose worker died is re-driven
by beat until it is done, and `notify()` is idempotent per user, so a re-drive adds only
who was missed.
"""

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mysetlist.setlists import selectors as setlists_selectors
from notifications.models import Category, Trigger
from notifications.services import notify, trigger_record

if TYPE_CHECKING:
    from mysetlist.setlists.models import Show

logger = logging.getLogger(__name__)

CLOSING_SOON = dt.timedelta(hours=24)
REDRIVE_AFTER = dt.timedelta(minutes=2)


def _context(show: "Show") -> dict:
    venue = show.venue
    where = ", ".join(part for part in (venue.name, venue.city) if part) if venue else ""
    return {
        "artist": show.artist.name,
        "show": str(show),
        "venue": where or "a venue to be announced",
        "date": f"{show.date:%B} {show.date.day}, {show.date.year}",
        "show_id": show.pk,
        "url": settings.SITE_URL.rstrip("/") + show.get_absolute_url(),
    }


def trigger_fanout(*, trigger_id: int) -> int:
    """Tell every follower of the trigger's artist; return how many were told now."""
    trigger = (
        Trigger.objects.select_related("show__artist", "show__venue").filter(pk=trigger_id).first()
    )
    if trigger is None or trigger.done_at is not None:
        return 0
    show = trigger.show
    followers = setlists_selectors.follower_ids(artist_id=show.artist_id)
    told = notify(
        category=trigger.category, user_ids=followers, key=trigger.key, context=_context(show)
    )
    Trigger.objects.filter(pk=trigger.pk, done_at=None).update(
        done_at=timezone.now(), notified=len(followers)
    )
    return told


def triggers_redrive(*, hand, now: dt.datetime | None = None) -> int:
    """Hand to `hand` each trigger still not fanned out a while after it was made (its
    enqueue was lost, or its worker died); return how many."""
    now = now or timezone.now()
    ids = list(
        Trigger.objects.filter(done_at=None, created_at__lt=now - REDRIVE_AFTER)
        .order_by("created_at")
        .values_list("pk", flat=True)[:100]
    )
    for trigger_id in ids:
        hand(trigger_id)
    return len(ids)


@transaction.atomic
def voting_closing_triggers(*, now: dt.datetime | None = None) -> int:
    """Record a "voting closes soon" trigger for each open show closing within a day;
    return how many are new. Beat runs this often; each show is told once."""
    now = now or timezone.now()
    shows = setlists_selectors.shows_voting_closing(now=now, within=CLOSING_SOON)
    return sum(
        trigger_record(category=Category.VOTING_CLOSING, show=show) is not None for show in shows
    )

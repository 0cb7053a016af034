"""Domain events that followers hear about: a trigger row is written in the transaction of
the change itself, then fanned out to the artist's followers by a worker.

The row is the outbox: a fan-out whose enqueue was lost or whose worker died is re-driven
by beat until it is done, and `notify()` is idempotent per user, so a re-drive adds only
who was missed.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mysetlist.setlists import selectors as setlists_selectors
from mysetlist.setlists.models import Show

from .models import Category, Trigger
from .services import notify

logger = logging.getLogger(__name__)

# A show's status change and the category its followers hear about.
STATUS_CATEGORIES = {
    Show.Status.VOTING_OPEN: Category.VOTING_OPENED,
    Show.Status.LOCKED: Category.VOTING_CLOSED,
    Show.Status.COMPLETED: Category.SETLIST_POSTED,
}
CLOSING_SOON = dt.timedelta(hours=24)
REDRIVE_AFTER = dt.timedelta(minutes=2)


def trigger_record(*, category: str, show: Show) -> Trigger | None:
    """Record that a show's followers are to hear about `category`, in the caller's
    transaction; fan out once it commits. Return the new trigger, or None if this show
    already had one of this category (each is told once)."""
    from .tasks import trigger_fanout

    trigger, created = Trigger.objects.get_or_create(
        key=f"{category}:{show.pk}", defaults={"category": category, "show": show}
    )
    if not created:
        return None
    transaction.on_commit(lambda: trigger_fanout.delay(trigger.pk), robust=True)
    return trigger


def _context(show: Show) -> dict:
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


def show_status_trigger(*, show: Show, status: str) -> None:
    """React to a show's status change: record the trigger its followers hear about."""
    category = STATUS_CATEGORIES.get(status)
    if category:
        trigger_record(category=category, show=show)


def show_created_trigger(*, show: Show) -> None:
    """A new upcoming show is announced to its artist's followers; an imported past one
    is history, not news."""
    if show.status == Show.Status.ANNOUNCED and show.date >= timezone.now().date():
        trigger_record(category=Category.SHOW_ANNOUNCED, show=show)

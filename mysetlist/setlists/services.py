"""Writes of the setlist domain: every voting rule is enforced here, not in views."""

import datetime
import ipaddress
import logging
from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from analytics.services import track
from mysetlist.core import tiered_cache
from mysetlist.core.broadcast import live_publish_on_commit
from mysetlist.core.exceptions import ApplicationError, NotFoundError
from mysetlist.users.models import User
from notifications import services as notifications_services

from .models import Artist, Follow, Show, Song, Tour, Venue, Vote, VoteTally
from .selectors import ballot_namespace, show_voting_closes_at

logger = logging.getLogger(__name__)

# Shows move forward only; a step may be skipped (a show can be locked without ever
# opening for votes, or completed straight from announced when a setlist is posted late).
_STATUS_ORDER = [
    Show.Status.ANNOUNCED,
    Show.Status.VOTING_OPEN,
    Show.Status.LOCKED,
    Show.Status.COMPLETED,
]


LIVE_TOPIC = "shows"  # the live feed every show's tallies and statuses go out on


def _show_for_vote(*, show_id: int) -> Show:
    """Return the show, share-locked on PostgreSQL so a status change waits for votes in flight.

    FOR SHARE lets many votes on one show run at once while blocking the UPDATE that
    closes voting until they commit; the ORM only offers the exclusive FOR UPDATE.
    SQLite has a single writer, so a plain read is already consistent there.
    """
    if connection.vendor == "postgresql":
        table = Show._meta.db_table
        shows = list(Show.objects.raw(f"SELECT * FROM {table} WHERE id = %s FOR SHARE", [show_id]))
        if not shows:
            raise NotFoundError("Show not found.")
        return shows[0]
    try:
        return Show.objects.get(pk=show_id)
    except Show.DoesNotExist as exc:
        raise NotFoundError("Show not found.") from exc


def _vote_check(*, show: Show, song: Song) -> None:
    if show.status != Show.Status.VOTING_OPEN:
        raise ApplicationError(
            f"Voting is not open for this show (it is {show.get_status_display().lower()}).",
            extra={"status": show.status},
        )
    if song.artist_id != show.artist_id:
        raise ApplicationError(
            "This song is not by the show's artist.", extra={"fields": {"song": ["Wrong artist."]}}
        )


def _upsert_returns() -> bool:
    """Whether the database returns columns from an insert: PostgreSQL, SQLite 3.35+."""
    return connection.features.can_return_columns_from_insert


def _tally_apply(*, show_id: int, song_id: int, up: int, down: int) -> VoteTally:
    """Add to the counts of one song at one show; the row lock keeps them exact.

    Adding (a vote cast) may make the row: one upsert makes it, or locks and changes it, and
    returns the new counts (the ORM's upsert can only overwrite, not add). Taking away (a
    vote withdrawn or turned round) needs the row: one UPDATE returns the new counts, and a
    missing row is drift, which raises. Without RETURNING, the ORM's statements instead.
    """
    taking = up < 0 or down < 0
    if _upsert_returns():
        table = connection.ops.quote_name(VoteTally._meta.db_table)
        if taking:
            sql = (
                f"UPDATE {table} SET upvotes = upvotes + %s, downvotes = downvotes + %s, "
                "version = version + 1 WHERE show_id = %s AND song_id = %s "
                "RETURNING id, upvotes, downvotes, version"
            )
            params = [up, down, show_id, song_id]
        else:
            sql = (
                f"INSERT INTO {table} (show_id, song_id, upvotes, downvotes, version) "
                "VALUES (%s, %s, %s, %s, 1) ON CONFLICT (show_id, song_id) DO UPDATE SET "
                f"upvotes = {table}.upvotes + excluded.upvotes, "
                f"downvotes = {table}.downvotes + excluded.downvotes, "
                f"version = {table}.version + 1 RETURNING id, upvotes, downvotes, version"
            )
            params = [show_id, song_id, up, down]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        tally = None if row is None else VoteTally(
            pk=row[0], show_id=show_id, song_id=song_id, upvotes=row[1], downvotes=row[2],
            version=row[3],
        )  # fmt: skip
    else:
        rows = VoteTally.objects.filter(show_id=show_id, song_id=song_id)
        if not taking:
            VoteTally.objects.bulk_create(
                [VoteTally(show_id=show_id, song_id=song_id)], ignore_conflicts=True
            )
        counts = {
            "upvotes": F("upvotes") + up,
            "downvotes": F("downvotes") + down,
            "version": F("version") + 1,
        }
        tally = rows.get() if rows.update(**counts) else None
    if tally is None:  # only taking away can find no row
        raise IntegrityError(f"Song {song_id} at show {show_id} has no tally to take from.")
    tiered_cache.invalidate_on_commit(ballot_namespace(show_id))
    _tally_publish_on_commit(tally)
    return tally


def _tally_publish_on_commit(tally: VoteTally) -> None:
    """Once committed, hand the tally to every websocket process's hub (see `live`), which
    coalesces a show's changes into one frame for all of its listeners."""
    live_publish_on_commit(
        topic=LIVE_TOPIC,
        message={"kind": "tally", "show_id": tally.show_id, "tally": tally_payload(tally)},
    )


def tally_payload(tally: VoteTally) -> dict:
    return {
        "show_id": tally.show_id,
        "song_id": tally.song_id,
        "upvotes": tally.upvotes,
        "downvotes": tally.downvotes,
        "score": tally.score,
        "version": tally.version,
    }


def _counts(value: int) -> tuple[int, int]:
    return (1, 0) if value == Vote.Value.UP else (0, 1)


@transaction.atomic
def vote_cast(
    *, user: User, show_id: int, song_id: int, value: int, address: str | None = None
) -> Vote:
    """Cast a vote, or change the user's existing vote on that song at that show, from the
    client `address` (kept as a keyed hash) when the request gives one.

    A vote staff excluded stays excluded when its fan changes it: the new value is kept but
    counts nowhere, so voting again never undoes a moderator's decision.
    """
    if value not in Vote.Value.values:
        raise ApplicationError(
            "A vote is +1 or -1.", extra={"fields": {"value": ["Must be 1 or -1."]}}
        )
    show = _show_for_vote(show_id=show_id)
    try:
        song = Song.objects.get(pk=song_id)
    except Song.DoesNotExist as exc:
        raise NotFoundError(
            "Song not found.", extra={"fields": {"song": ["Unknown song."]}}
        ) from exc
    _vote_check(show=show, song=song)

    vote = Vote.objects.select_for_update().filter(user=user, show=show, song=song).first()
    if vote is None:
        try:
            with transaction.atomic():
                vote = Vote(
                    user=user, show=show, song=song, value=value,
                    address_hash=address_hash(address),
                )  # fmt: skip
                # The user, show and song were just read: checking they exist is waste.
                vote.full_clean(
                    exclude=["user", "show", "song"],
                    validate_unique=False,
                    validate_constraints=False,
                )
                vote.save()
        except IntegrityError:
            # The same user's concurrent request inserted first; change that vote instead.
            vote = Vote.objects.select_for_update().get(user=user, show=show, song=song)
        else:
            up, down = _counts(value)
            _tally_apply(show_id=show.pk, song_id=song.pk, up=up, down=down)
            _track_vote(user=user, show=show, song=song, value=value, changed=False)
            # A vote soon after a click on a notification about the show is its conversion.
            transaction.on_commit(
                lambda: notifications_services.conversions_record(user_id=user.pk, show_id=show.pk),
                robust=True,
            )
            return vote

    if vote.value != value:
        old_up, old_down = _counts(vote.value)
        new_up, new_down = _counts(value)
        vote.value = value
        fields = ["value", "updated_at"]
        if address:
            vote.address_hash = address_hash(address)
            fields.append("address_hash")
        vote.save(update_fields=fields)
        if not vote.excluded:
            _tally_apply(
                show_id=show.pk, song_id=song.pk, up=new_up - old_up, down=new_down - old_down
            )
        _track_vote(user=user, show=show, song=song, value=value, changed=True)
    return vote


ADDRESS_HASH_SALT = "mysetlist.setlists.vote-address"


def address_hash(address: str | None) -> str:
    """Return a keyed hash of a client address ("" for none): an IPv4 address whole, an IPv6
    one by its /64, the block one host or home gets, so rotating within it changes nothing.

    Kept instead of the address: telling votes from one address apart needs no more, and a
    leaked table then says nothing of where fans are (analytics anonymises addresses too).
    The key is the secret key, so the hash cannot be reversed by trying every address.
    """
    if not address:
        return ""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if parsed.version == 6:
        key = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    else:
        key = str(parsed)
    return salted_hmac(ADDRESS_HASH_SALT, key, algorithm="sha256").hexdigest()[:32]


def _track_vote(*, user: User, show: Show, song: Song, value: int, changed: bool) -> None:
    track(
        event="vote_cast",
        user=user,
        properties={
            "artist_id": show.artist_id,
            "show_id": show.pk,
            "song_id": song.pk,
            "value": value,
            "changed": changed,
        },
    )


@transaction.atomic
def vote_delete(*, user: User, show_id: int, song_id: int) -> None:
    """Withdraw the user's vote on a song at a show."""
    show = _show_for_vote(show_id=show_id)
    if show.status != Show.Status.VOTING_OPEN:
        raise ApplicationError("Voting is not open for this show.", extra={"status": show.status})
    vote = Vote.objects.select_for_update().filter(user=user, show=show, song_id=song_id).first()
    if vote is None:
        raise NotFoundError("You have no vote on this song at this show.")
    if vote.excluded:
        # Withdrawn and cast again it would count: a moderator's decision stays.
        raise ApplicationError(
            "This vote was set aside by moderators and cannot be withdrawn.",
            extra={"excluded": True},
        )
    up, down = _counts(vote.value)
    vote.delete()
    _tally_apply(show_id=show.pk, song_id=song_id, up=-up, down=-down)
    track(
        event="vote_withdrawn",
        user=user,
        properties={"artist_id": show.artist_id, "show_id": show.pk, "song_id": song_id},
    )


@transaction.atomic
def show_create(
    *,
    artist: Artist,
    date: datetime.date,
    venue: Venue | None = None,
    tour: Tour | None = None,
    status: str = Show.Status.ANNOUNCED,
    source: str = "",
    source_id: str = "",
) -> Show:
    """Create a show; a new upcoming one is announced to its artist's followers."""
    show = Show(
        artist=artist, venue=venue, tour=tour, date=date, status=status,
        source=source, source_id=source_id,
    )  # fmt: skip
    show.full_clean()
    show.save()
    # Written with the show, so followers hear of exactly the shows that commit.
    notifications_services.trigger_record_show_created(show=show)
    return show


SHOW_UPDATE_FIELDS = ("artist", "venue", "tour", "date", "source", "source_id")


@transaction.atomic
def show_update(*, show: Show, data: dict) -> Show:
    """Change a show's details (`data`, among SHOW_UPDATE_FIELDS); its status changes only
    through show_transition. Followers are not told: no notification says a show moved."""
    unknown = set(data) - set(SHOW_UPDATE_FIELDS)
    if unknown:
        raise ApplicationError(f"A show's {', '.join(sorted(unknown))} cannot be changed here.")
    for name, value in data.items():
        setattr(show, name, value)
    show.full_clean()
    show.save(update_fields=[*data, "updated_at"])
    tiered_cache.invalidate_on_commit(ballot_namespace(show.pk))  # another artist's songs
    return show


@transaction.atomic
def show_transition(*, show: Show, status: str) -> Show:
    """Move a show forward through announced → voting open → locked → completed.

    The status is read again under a row lock, so two staff members or the lock job
    racing each other cannot move a show backwards.
    """
    if status not in Show.Status.values:
        raise ApplicationError(f"Unknown show status {status!r}.")
    current = Show.objects.select_for_update().only("status").get(pk=show.pk).status
    if _STATUS_ORDER.index(status) <= _STATUS_ORDER.index(current):
        raise ApplicationError(
            f"A show cannot go from {current} to {status}.", extra={"status": current}
        )
    show.status = status
    show.save(update_fields=["status", "updated_at"])
    tiered_cache.invalidate_on_commit(ballot_namespace(show.pk))
    # Written with the change, so followers hear of exactly the changes that commit.
    notifications_services.trigger_record_show_status(show=show, status=status)
    live_publish_on_commit(
        topic=LIVE_TOPIC,
        message={
            "kind": "status",
            "show_id": show.pk,
            "status": status,
            "label": str(show.get_status_display()),
        },
    )
    return show


def _show_date_passed(show: Show, now: datetime.datetime) -> bool:
    return now >= show_voting_closes_at(show=show)


@transaction.atomic
def shows_lock_past_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Lock voting on every open show whose date has passed where it is played.

    Return the ids of the shows locked.
    """
    now = now or timezone.now()
    # No venue is more than 14 hours ahead of UTC, so a day's margin finds every candidate.
    latest = (now + datetime.timedelta(days=1)).date()
    candidates = (
        Show.objects.select_for_update(of=("self",))
        .select_related("venue")
        .filter(status=Show.Status.VOTING_OPEN, date__lt=latest)
    )
    locked = [show for show in candidates if _show_date_passed(show, now)]
    for show in locked:
        show_transition(show=show, status=Show.Status.LOCKED)
    return [show.pk for show in locked]


@transaction.atomic
def votes_withdraw_all(*, user: User) -> int:
    """Withdraw every vote of a user, at any show, keeping the tallies exact.

    Return how many votes were withdrawn.
    """
    votes = list(Vote.objects.select_for_update().filter(user=user).order_by("show_id", "song_id"))
    for vote in votes:
        if vote.excluded:
            continue  # counted nowhere already
        up, down = _counts(vote.value)
        _tally_apply(show_id=vote.show_id, song_id=vote.song_id, up=-up, down=-down)
    Vote.objects.filter(pk__in=[vote.pk for vote in votes]).delete()
    return len(votes)


@transaction.atomic
def follow_create(*, user: User, artist_id: int) -> Follow:
    """Follow an artist; following twice is the same as once."""
    if not Artist.objects.filter(pk=artist_id).exists():
        raise NotFoundError("Artist not found.", extra={"fields": {"artist": ["Unknown artist."]}})
    follow, created = Follow.objects.get_or_create(user=user, artist_id=artist_id)
    if created:
        track(event="artist_followed", user=user, properties={"artist_id": artist_id})
    return follow


@transaction.atomic
def follow_delete(*, user: User, artist_id: int) -> None:
    deleted, _ = Follow.objects.filter(user=user, artist_id=artist_id).delete()
    if not deleted:
        raise NotFoundError("You do not follow this artist.")
    track(event="artist_unfollowed", user=user, properties={"artist_id": artist_id})


# Setting votes aside


def _show_lock(show_id: int) -> bool:
    """Lock the show exclusively until the transaction ends; return whether it exists."""
    return bool(list(Show.objects.select_for_update().filter(pk=show_id).values_list("pk")))


@transaction.atomic
def show_tallies_recount(*, show_id: int) -> list[VoteTally]:
    """Count the show's tallies again from its votes that are not excluded, under an
    exclusive lock of the show (votes in flight hold a share lock: they finish first and
    new ones wait). Each tally that changes gets a new version and is broadcast on commit,
    as vote_cast's are; return those that changed."""
    _show_lock(show_id)
    counted = {
        song_id: (up, down)
        for song_id, up, down in Vote.objects.filter(show_id=show_id, excluded=False)
        .values("song_id")
        .annotate(up=Count("id", filter=Q(value=1)), down=Count("id", filter=Q(value=-1)))
        .values_list("song_id", "up", "down")
    }
    tallies = {t.song_id: t for t in VoteTally.objects.select_for_update().filter(show_id=show_id)}
    missing = [song_id for song_id in counted if song_id not in tallies]
    for tally in VoteTally.objects.bulk_create(
        [VoteTally(show_id=show_id, song_id=song_id) for song_id in missing]
    ):
        tallies[tally.song_id] = tally
    changed = []
    for song_id, tally in sorted(tallies.items()):
        up, down = counted.get(song_id, (0, 0))
        if (tally.upvotes, tally.downvotes) == (up, down):
            continue
        tally.upvotes, tally.downvotes, tally.version = up, down, tally.version + 1
        tally.save(update_fields=["upvotes", "downvotes", "version"])
        _tally_publish_on_commit(tally)
        changed.append(tally)
    if changed:
        tiered_cache.invalidate_on_commit(ballot_namespace(show_id))
    return changed


def _votes_for_review(*, show_id: int, vote_ids: Iterable[int]) -> list[Vote]:
    ids = sorted(set(vote_ids))
    if not ids:
        raise ApplicationError("Name at least one vote.", extra={"fields": {"vote_ids": "empty"}})
    # The show first, as vote_cast takes it before its vote: no two orders, no deadlock.
    if not _show_lock(show_id):
        raise NotFoundError("Show not found.", extra={"fields": {"show": "unknown"}})
    votes = list(Vote.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    found = {vote.pk for vote in votes}
    if unknown := [pk for pk in ids if pk not in found]:
        raise NotFoundError(
            f"No votes with the ids {', '.join(map(str, unknown[:20]))}.",
            extra={"fields": {"vote_ids": unknown[:100]}},
        )
    if elsewhere := [vote.pk for vote in votes if vote.show_id != show_id]:
        raise ApplicationError(
            f"The votes {', '.join(map(str, elsewhere[:20]))} are not at show {show_id}.",
            extra={"fields": {"vote_ids": elsewhere[:100]}},
        )
    return votes


def _review_log(*, show_id: int, by: User, message: str) -> None:
    logger.info("show %s: %s (by %s)", show_id, message, by.get_username())
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=Show.objects.filter(pk=show_id),
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


@transaction.atomic
def votes_exclude(*, show_id: int, vote_ids: Iterable[int], by: User, reason: str) -> int:
    """Set the votes aside from every count at their show (tallies, ballot, predictions),
    recount the show's tallies and broadcast them on commit. Logged, with who and why, as
    a log record and an admin LogEntry on the show (its history in admin). Votes excluded
    already stay as they are. Return how many were newly excluded.

    ApplicationError, and nothing changed, for no votes, an unknown id, a vote of another
    show or no reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the votes are excluded.", {"fields": {"reason": "empty"}})
    votes = _votes_for_review(show_id=show_id, vote_ids=vote_ids)
    now = timezone.now()
    ids = [vote.pk for vote in votes if not vote.excluded]
    Vote.objects.filter(pk__in=ids).update(
        excluded=True, excluded_at=now, excluded_reason=reason[:300]
    )
    if ids:
        show_tallies_recount(show_id=show_id)
        _review_log(
            show_id=show_id,
            by=by,
            message=f"Excluded {len(ids)} vote(s) from the counts ({reason[:200]}): "
            f"ids {_id_list(ids)}",
        )
    return len(ids)


@transaction.atomic
def votes_include(*, show_id: int, vote_ids: Iterable[int], by: User, reason: str = "") -> int:
    """Count excluded votes again (undoing votes_exclude), recount and log as it does.
    Return how many were included again."""
    votes = _votes_for_review(show_id=show_id, vote_ids=vote_ids)
    ids = [vote.pk for vote in votes if vote.excluded]
    Vote.objects.filter(pk__in=ids).update(excluded=False, excluded_at=None, excluded_reason="")
    if ids:
        show_tallies_recount(show_id=show_id)
        why = f" ({reason.strip()[:200]})" if reason.strip() else ""
        _review_log(
            show_id=show_id,
            by=by,
            message=f"Counted {len(ids)} excluded vote(s) again{why}: ids {_id_list(ids)}",
        )
    return len(ids)


def _id_list(ids: list[int], limit: int = 50) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

"""Reads of the setlist domain; each owns its joins so callers stay free of N+1 queries."""

import datetime
import unicodedata
from dataclasses import dataclass

from django.db.models import Count, F, Min, Q, QuerySet, Sum

from mysetlist.core import tiered_cache
from mysetlist.core.exceptions import ApplicationError, NotFoundError
from mysetlist.users.models import User

from .filters import ArtistFilter, ShowFilter, SongFilter, VoteFilter
from .models import Artist, Follow, SetlistEntry, Show, Song, Vote, VoteTally


def _filtered(filterset_class, queryset: QuerySet, filters: dict | None) -> QuerySet:
    filterset = filterset_class(filters or {}, queryset)
    if not filterset.is_valid():
        raise ApplicationError("Invalid filter.", extra={"fields": filterset.errors})
    return filterset.qs


def artist_list(*, filters: dict | None = None) -> QuerySet[Artist]:
    queryset = Artist.objects.annotate(
        song_count=Count("songs", distinct=True), show_count=Count("shows", distinct=True)
    ).order_by("name")
    return _filtered(ArtistFilter, queryset, filters)


def artist_get(*, artist_id: int | None = None, slug: str | None = None) -> Artist:
    lookup = {"pk": artist_id} if artist_id is not None else {"slug": slug}
    try:
        return artist_list().get(**lookup)
    except (Artist.DoesNotExist, ValueError) as exc:
        raise NotFoundError("Artist not found.") from exc


def show_list(*, filters: dict | None = None) -> QuerySet[Show]:
    queryset = Show.objects.select_related("artist", "venue", "tour").order_by("-date", "id")
    return _filtered(ShowFilter, queryset, filters)


def show_upcoming_list(*, artist: Artist) -> QuerySet[Show]:
    return show_list(
        filters={"artist": artist.pk, "status": [Show.Status.ANNOUNCED, Show.Status.VOTING_OPEN]}
    ).order_by("date", "id")


def show_get(*, show_id: int) -> Show:
    try:
        return show_list().get(pk=show_id)
    except (Show.DoesNotExist, ValueError) as exc:
        raise NotFoundError("Show not found.") from exc


def song_list(*, filters: dict | None = None) -> QuerySet[Song]:
    queryset = Song.objects.select_related("artist").order_by("artist__name", "title", "id")
    return _filtered(SongFilter, queryset, filters)


def setlist_get(*, show: Show) -> list[SetlistEntry]:
    return list(SetlistEntry.objects.filter(show=show).select_related("song").order_by("position"))


@dataclass(frozen=True)
class BallotLine:
    song_id: int
    title: str
    upvotes: int
    downvotes: int
    version: int
    my_vote: int
    times_played: int

    @property
    def score(self) -> int:
        return self.upvotes - self.downvotes


BALLOT_SECONDS = 60  # a safety net: every change that moves a ballot invalidates it


def ballot_namespace(show_id: int) -> str:
    """The cache namespace of a show's shared ballot (its tallies, against its songs)."""
    return f"ballot:{show_id}"


def catalogue_namespace(artist_id: int) -> str:
    """The cache namespace of an artist's songs and how often each was played."""
    return f"songs:{artist_id}"


def _ballot_shared(show_id: int, artist_id: int) -> tuple[tuple[int, str, int, int, int, int], ...]:
    """Return every song of the artist with its counts at the show, best first, as
    (song id, title, upvotes, downvotes, version, times played): the ballot every fan sees
    alike, in two queries."""
    songs = (
        Song.objects.filter(artist_id=artist_id)
        .annotate(times_played=Count("setlist_entries"))
        .values_list("id", "title", "times_played")
    )
    tallies = {
        song_id: (up, down, version)
        for song_id, up, down, version in VoteTally.objects.filter(show_id=show_id).values_list(
            "song_id", "upvotes", "downvotes", "version"
        )
    }
    rows = [
        (song_id, title, *tallies.get(song_id, (0, 0, 0)), times_played)
        for song_id, title, times_played in songs
    ]
    rows.sort(key=lambda row: (-(row[2] - row[3]), -row[2], -row[5], row[1]))
    return tuple(rows)


def show_ballot(*, show: Show, user: User | None = None) -> list[BallotLine]:
    """Return every song of the show's artist with its vote counts, best score first.

    The counts, alike for everyone, come from the tiered cache (two queries on a miss);
    the user's own votes are read for each call (one query), never cached.
    """
    shared = tiered_cache.cached(
        ballot_namespace(show.pk),
        "lines",
        ttl=BALLOT_SECONDS,
        loader=lambda: _ballot_shared(show.pk, show.artist_id),
        depends_on=[catalogue_namespace(show.artist_id)],
    )
    mine = {}
    if user is not None and user.is_authenticated:
        mine = dict(Vote.objects.filter(show=show, user=user).values_list("song_id", "value"))
    return [
        BallotLine(
            song_id=song_id,
            title=title,
            upvotes=up,
            downvotes=down,
            version=version,
            my_vote=mine.get(song_id, 0),
            times_played=times_played,
        )
        for song_id, title, up, down, version, times_played in shared
    ]


def vote_tally_get(*, show_id: int, song_id: int) -> VoteTally:
    return VoteTally.objects.filter(show_id=show_id, song_id=song_id).first() or VoteTally(
        show_id=show_id, song_id=song_id
    )


def vote_list(*, user: User, filters: dict | None = None) -> QuerySet[Vote]:
    queryset = Vote.objects.filter(user=user).select_related("song", "show").order_by("-updated_at")
    return _filtered(VoteFilter, queryset, filters)


def follow_list(*, user: User) -> QuerySet[Follow]:
    return Follow.objects.filter(user=user).select_related("artist").order_by("artist__name")


def artist_followed(*, user: User, artist: Artist) -> bool:
    return user.is_authenticated and Follow.objects.filter(user=user, artist=artist).exists()


def follower_ids(*, artist_id: int) -> list[int]:
    """Return the ids of the users who follow an artist."""
    return list(Follow.objects.filter(artist_id=artist_id).values_list("user_id", flat=True))


def show_voting_closes_at(*, show: Show) -> datetime.datetime:
    """Return when voting on a show closes: midnight after its date where it is played
    (the lock job's rule)."""
    tz = show.venue.timezone if show.venue_id else datetime.UTC
    next_day = show.date + datetime.timedelta(days=1)
    return datetime.datetime.combine(next_day, datetime.time(), tzinfo=tz)


def shows_voting_closing(*, now: datetime.datetime, within: datetime.timedelta) -> list[Show]:
    """Return the shows open for votes whose voting closes within `within` of `now`."""
    # No venue is more than 14 hours ahead of UTC: a day's margin finds every candidate.
    latest = (now + within + datetime.timedelta(days=1)).date()
    candidates = Show.objects.select_related("venue", "artist").filter(
        status=Show.Status.VOTING_OPEN, date__lte=latest
    )
    return [show for show in candidates if now < show_voting_closes_at(show=show) <= now + within]


def platform_counts() -> dict[str, int]:
    return {
        "artists": Artist.objects.count(),
        "shows_voting_open": Show.objects.filter(status=Show.Status.VOTING_OPEN).count(),
        "votes": Vote.objects.filter(excluded=False).count(),
    }


def vote_tally_top(*, show_id: int, limit: int = 10) -> list[dict]:
    """The show's songs with the best score, with their counts."""
    tallies = (
        VoteTally.objects.filter(show_id=show_id)
        .select_related("song")
        .annotate(net=F("upvotes") - F("downvotes"))
        .order_by("-net", "-upvotes", "song__title")[:limit]
    )
    return [
        {"song_id": t.song_id, "title": t.song.title, "upvotes": t.upvotes,
         "downvotes": t.downvotes, "score": t.score}
        for t in tallies
    ]  # fmt: skip


def show_voter_count(*, show_id: int) -> int:
    return Vote.objects.filter(show_id=show_id, excluded=False).values("user_id").distinct().count()


@dataclass(frozen=True)
class PlayedShow:
    """A show with its setlist, as plain data for readers outside the domain (predictions)."""

    show_id: int
    date: datetime.date
    venue: str | None
    city: str | None
    tour: str | None
    songs: tuple[tuple[int, str, str | None], ...]  # song id, title, set marker as in lines


def _marker(set_marker: str, set_number: int | None) -> str | None:
    if set_marker == SetlistEntry.SetMarker.ENCORE:
        return "e" if (set_number or 1) == 1 else f"e{set_number}"
    return str(set_number) if set_number else None


def artist_played_shows(*, artist_id: int, before: datetime.date | None = None) -> list[PlayedShow]:
    """Return the artist's shows that have a setlist (dated before `before`, if given),
    oldest first, in two queries whatever their number."""
    shows = Show.objects.filter(artist_id=artist_id, setlist_entries__isnull=False).distinct()
    if before is not None:
        shows = shows.filter(date__lt=before)
    heads = {
        pk: (date, venue, city, tour)
        for pk, date, venue, city, tour in shows.values_list(
            "pk", "date", "venue__name", "venue__city", "tour__name"
        )
    }
    songs: dict[int, list] = {pk: [] for pk in heads}
    entries = SetlistEntry.objects.filter(show_id__in=shows.values("pk")).order_by(
        "show_id", "position"
    )
    for show_id, song_id, title, set_marker, set_number in entries.values_list(
        "show_id", "song_id", "song__title", "set_marker", "set_number"
    ):
        songs[show_id].append((song_id, title, _marker(set_marker, set_number)))
    ordered = sorted(heads, key=lambda pk: (heads[pk][0], pk))
    return [
        PlayedShow(
            show_id=pk,
            date=heads[pk][0],
            venue=heads[pk][1],
            city=heads[pk][2] or None,
            tour=heads[pk][3],
            songs=tuple(songs[pk]),
        )
        for pk in ordered
    ]


def show_vote_scores(*, show_id: int) -> dict[int, int]:
    """Return each voted song's net score (up minus down) at a show."""
    return {
        song_id: up - down
        for song_id, up, down in VoteTally.objects.filter(show_id=show_id).values_list(
            "song_id", "upvotes", "downvotes"
        )
    }


def shows_votes_version(*, show_ids: list[int]) -> dict[int, int]:
    """Return, per show that has votes, a number that grows with every vote change there
    (the sum of its tallies' versions)."""
    rows = (
        VoteTally.objects.filter(show_id__in=show_ids)
        .values("show_id")
        .annotate(total=Sum("version"))
        .values_list("show_id", "total")
    )
    return dict(rows)


def shows_with_setlist(*, show_ids: list[int]) -> list[int]:
    """Return those of the shows that have a setlist."""
    return list(
        SetlistEntry.objects.filter(show_id__in=show_ids)
        .values_list("show_id", flat=True)
        .distinct()
        .order_by("show_id")
    )


def shows_describe(*, show_ids: list[int]) -> dict[int, dict]:
    """Return each show's artist name, date and status, for other apps' pages and jobs."""
    return {
        pk: {"artist": artist, "date": date, "status": status}
        for pk, artist, date, status in Show.objects.filter(pk__in=show_ids).values_list(
            "pk", "artist__name", "date", "status"
        )
    }


def song_titles(*, song_ids: list[int]) -> dict[int, str]:
    return dict(Song.objects.filter(pk__in=song_ids).values_list("pk", "title"))


def follow_pairs(*, user_id: int | None = None) -> list[tuple[int, int]]:
    """Return every (user id, artist id) follow, or one user's."""
    follows = Follow.objects.all() if user_id is None else Follow.objects.filter(user_id=user_id)
    return list(follows.values_list("user_id", "artist_id"))


def voted_show_counts(*, user_id: int | None = None) -> list[tuple[int, int, int]]:
    """Return (user id, artist id, shows of the artist voted on) for every user (or one)."""
    votes = Vote.objects.filter(excluded=False)
    if user_id is not None:
        votes = votes.filter(user_id=user_id)
    return list(
        votes.values("user_id", "show__artist_id")
        .annotate(shows=Count("show_id", distinct=True))
        .values_list("user_id", "show__artist_id", "shows")
    )


def artist_catalogues() -> dict[int, set[str]]:
    """Return each artist's song titles, case-folded."""
    catalogues: dict[int, set[str]] = {}
    for artist_id, title in Song.objects.values_list("artist_id", "title").iterator():
        catalogues.setdefault(artist_id, set()).add(title.casefold())
    return catalogues


def artist_names() -> dict[int, str]:
    return dict(Artist.objects.values_list("pk", "name"))


def artist_recent_votes(*, since: datetime.datetime) -> dict[int, int]:
    """Return the votes cast since `since` on each artist's shows."""
    return dict(
        Vote.objects.filter(updated_at__gte=since, excluded=False)
        .values("show__artist_id")
        .annotate(n=Count("id"))
        .values_list("show__artist_id", "n")
    )


def user_cities(*, user_id: int) -> set[str]:
    """Return the cities of the shows a user voted on (case-folded)."""
    return {
        city.casefold()
        for city in Vote.objects.filter(user_id=user_id, show__venue__isnull=False, excluded=False)
        .values_list("show__venue__city", flat=True)
        .distinct()
        if city
    }


def shows_upcoming(*, today: datetime.date, limit: int = 500) -> list[Show]:
    """Return shows not played yet from `today` on, soonest first, with artist, venue and
    tour."""
    return list(
        Show.objects.select_related("artist", "venue", "tour")
        .filter(status__in=[Show.Status.ANNOUNCED, Show.Status.VOTING_OPEN], date__gte=today)
        .order_by("date", "id")[:limit]
    )


def show_recent_votes(*, show_ids: list[int], since: datetime.datetime) -> dict[int, int]:
    return dict(
        Vote.objects.filter(show_id__in=show_ids, updated_at__gte=since, excluded=False)
        .values("show_id")
        .annotate(n=Count("id"))
        .values_list("show_id", "n")
    )


def show_day_starts_at(*, show: Show) -> datetime.datetime:
    """Return when the show's day begins where it is played: predictions freeze then."""
    return show_voting_closes_at(show=show) - datetime.timedelta(days=1)


def shows_setlist_song_ids(*, show_ids: list[int]) -> dict[int, list[int]]:
    """Return each show's setlist as song ids in order (shows without one left out)."""
    setlists: dict[int, list[int]] = {}
    rows = SetlistEntry.objects.filter(show_id__in=show_ids).order_by("show_id", "position")
    for show_id, song_id in rows.values_list("show_id", "song_id"):
        setlists.setdefault(show_id, []).append(song_id)
    return setlists


def artists_by_id(*, artist_ids: list[int]) -> dict[int, Artist]:
    return {artist.pk: artist for artist in Artist.objects.filter(pk__in=artist_ids)}


# For monitoring's anomaly detection and vote flags: votes that count (never excluded ones).


def show_ids_voting_open() -> list[int]:
    return list(
        Show.objects.filter(status=Show.Status.VOTING_OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def shows_first_vote_at(*, show_ids: list[int]) -> dict[int, datetime.datetime]:
    """Return when each show's first counted vote was cast (shows without one left out)."""
    return dict(
        Vote.objects.filter(show_id__in=show_ids, excluded=False)
        .values("show_id")
        .annotate(first=Min("created_at"))
        .values_list("show_id", "first")
    )


def show_vote_counts_by_span(
    *, show_ids: list[int], spans: list[tuple[datetime.datetime, datetime.datetime]]
) -> dict[int, list[int]]:
    """Return, per show, the counted votes cast (by `created_at`) in each span [start, end),
    in one query; shows without a vote in any span left out."""
    if not spans or not show_ids:
        return {}
    counts = {
        f"n{i}": Count("id", filter=Q(created_at__gte=start, created_at__lt=end))
        for i, (start, end) in enumerate(spans)
    }
    rows = (
        Vote.objects.filter(show_id__in=show_ids, excluded=False)
        .filter(created_at__gte=min(s for s, _ in spans), created_at__lt=max(e for _, e in spans))
        .values("show_id")
        .annotate(**counts)
    )
    return {row["show_id"]: [row[f"n{i}"] for i in range(len(spans))] for row in rows}


@dataclass(frozen=True)
class VoteSample:
    vote_id: int
    user_id: int
    address_hash: str
    created_at: datetime.datetime
    account_created_at: datetime.datetime


def show_votes_sample(*, show_id: int) -> list[VoteSample]:
    """Return every counted vote of a show with who cast it, from where (hashed) and when
    the account was made, oldest first, in one query."""
    rows = (
        Vote.objects.filter(show_id=show_id, excluded=False)
        .order_by("created_at", "pk")
        .values_list("pk", "user_id", "address_hash", "created_at", "user__date_joined")
    )
    return [VoteSample(*row) for row in rows.iterator(chunk_size=5000)]


def votes_state(*, vote_ids: list[int]) -> dict[int, bool]:
    """Return, for those of the votes that still exist, whether each is excluded."""
    return dict(Vote.objects.filter(pk__in=vote_ids).values_list("pk", "excluded"))


# The show page: filtering its ballot, and a played show's outcome.

BALLOT_FILTERS = {"mine": "My votes", "unplayed": "Never played live"}


def _folded(text: str) -> str:
    """Return `text` case-folded without accents, as the show page's filter compares it."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def ballot_filter(*, lines: list[BallotLine], text: str = "", only: str = "") -> list[BallotLine]:
    """Return the ballot lines whose title holds `text` (case and accents ignored), kept to
    the fan's own votes (`only="mine"`) or to songs never played live (`only="unplayed"`);
    an unknown `only` keeps every line."""
    needle = _folded(text.strip())
    kept = [line for line in lines if needle in _folded(line.title)]
    if only == "mine":
        kept = [line for line in kept if line.my_vote]
    elif only == "unplayed":
        kept = [line for line in kept if not line.times_played]
    return kept


@dataclass(frozen=True)
class PlayedSong:
    """A song of a played setlist, with the fans' rank of it (1 = best score) if they
    picked it, and whether the prediction had it."""

    song_id: int
    title: str
    encore: bool
    fans_rank: int | None
    predicted: bool


@dataclass(frozen=True)
class PickedSong:
    """A song the fans or the prediction picked, and whether it was played."""

    song_id: int
    title: str
    played: bool
    score: int | None = None


@dataclass(frozen=True)
class ShowOutcome:
    """A played show: its setlist beside the fans' top songs and the predicted setlist."""

    setlist: tuple[PlayedSong, ...]
    fans_top: tuple[PickedSong, ...]
    predicted: tuple[PickedSong, ...] | None  # None when no prediction was made

    @property
    def fans_hits(self) -> int:
        return sum(pick.played for pick in self.fans_top)

    @property
    def predicted_hits(self) -> int:
        return sum(pick.played for pick in self.predicted or ())


def show_outcome(
    *,
    setlist: list[SetlistEntry],
    ballot: list[BallotLine],
    predicted: list[tuple[int, str]] | None,
) -> ShowOutcome:
    """Return how the fans' votes and the prediction compared with the setlist as played.

    The fans' top is as long as the setlist (its distinct songs; ten while it is not
    entered): the songs with a score above zero, best first as on the ballot. `predicted`
    is the predicted setlist as (song id, title) in order, or None when the show had no
    prediction.
    """
    played_ids = {entry.song_id for entry in setlist}
    voted = [line for line in ballot if line.score > 0]
    fans_top = tuple(
        PickedSong(
            song_id=line.song_id,
            title=line.title,
            played=line.song_id in played_ids,
            score=line.score,
        )
        for line in voted[: len(played_ids) or 10]
    )
    ranks = {pick.song_id: rank for rank, pick in enumerate(fans_top, start=1)}
    predicted_ids = {song_id for song_id, _ in predicted or ()}
    return ShowOutcome(
        setlist=tuple(
            PlayedSong(
                song_id=entry.song_id,
                title=entry.song.title,
                encore=entry.set_marker == SetlistEntry.SetMarker.ENCORE,
                fans_rank=ranks.get(entry.song_id),
                predicted=entry.song_id in predicted_ids,
            )
            for entry in setlist
        ),
        fans_top=fans_top,
        predicted=None
        if predicted is None
        else tuple(
            PickedSong(song_id=song_id, title=title, played=song_id in played_ids)
            for song_id, title in predicted
        ),
    )


def show_is_played(*, show: Show, setlist: list[SetlistEntry]) -> bool:
    """Return whether a show is over with its setlist known: its page shows the outcome
    rather than a ballot."""
    return show.status == Show.Status.COMPLETED or bool(setlist)

"""Plausible demo data made up on the spot, so a first local run shows a living site."""

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from mysetlist.core import tiered_cache
from mysetlist.users.models import User

from .models import Artist, Follow, SetlistEntry, Show, Song, Tour, Venue
from .selectors import catalogue_namespace
from .services import show_create, show_transition, vote_cast

ARTISTS = ["The Velvet Orchards", "Nova Harbor", "Juniper Static", "Marisol & the Tides"]
VENUES = [
    ("Harbor Hall", "San Francisco", "USA", "America/Los_Angeles"),
    ("The Lantern Room", "Chicago", "USA", "America/Chicago"),
    ("Riverside Amphitheatre", "Austin", "USA", "America/Chicago"),
    ("Union Ballroom", "New York", "USA", "America/New_York"),
    ("Palais Lumière", "Paris", "France", "Europe/Paris"),
    ("Northern Arena", "Manchester", "UK", "Europe/London"),
    ("Kaiserhalle", "Berlin", "Germany", "Europe/Berlin"),
    ("Southern Cross Theatre", "Melbourne", "Australia", "Australia/Melbourne"),
]
_FIRST = [
    "Midnight", "Golden", "Paper", "Electric", "Silver", "Broken",
    "Wild", "Quiet", "Neon", "Hollow", "Burning", "Northern",
]  # fmt: skip
_SECOND = [
    "Highway", "River", "Lanterns", "Satellite", "Garden", "Letters",
    "Harbor", "Comet", "Orchard", "Static", "Tide", "Mirror",
]  # fmt: skip
_THIRD = ["", "", "", " Blues", " (Reprise)", " Song", " Again", " of Mine", " in July"]
DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class DemoResult:
    artists: int
    shows: int
    setlist_entries: int
    fans: int
    votes: int


def _catalogue(rng: random.Random, size: int) -> list[str]:
    titles: set[str] = set()
    while len(titles) < size:
        titles.add(f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}{rng.choice(_THIRD)}")
    return sorted(titles)


def _setlist(rng: random.Random, songs: list[Song]) -> list[Song]:
    """Staples nearly every night, a rotating middle, a rare deep cut now and then."""
    staples, middle, rare = songs[:10], songs[10:35], songs[35:]
    chosen = [s for s in staples if rng.random() < 0.8]
    chosen += rng.sample(middle, k=rng.randint(6, 10))
    chosen += rng.sample(rare, k=rng.randint(0, 2))
    rng.shuffle(chosen)
    return chosen


@transaction.atomic
def demo_seed(*, seed: int = 7, fans: int = 40, past_shows_per_artist: int = 75) -> DemoResult:
    """Create demo artists, venues, tours, past setlists, upcoming shows, fans and votes."""
    rng = random.Random(seed)
    today = timezone.now().date()
    venues = [
        Venue.objects.get_or_create(name=n, city=c, country=k, defaults={"timezone": tz})[0]
        for n, c, k, tz in VENUES
    ]
    users = [
        User.objects.get_or_create(
            username=f"fan{n:02d}", defaults={"email": f"fan{n:02d}@example.com"}
        )[0]
        for n in range(1, fans + 1)
    ]
    shows_made = entries_made = votes_made = 0
    for artist_index, name in enumerate(ARTISTS):
        artist = Artist.objects.create(name=name, slug=slugify(name))
        songs = Song.objects.bulk_create(
            [Song(artist=artist, title=t) for t in _catalogue(rng, rng.randint(45, 70))]
        )
        # Bulk writes send no signals; a database made afresh may reuse the artist's id.
        tiered_cache.invalidate_on_commit(catalogue_namespace(artist.pk))
        rng.shuffle(songs)  # the first ten become this artist's staples
        tours = [
            Tour.objects.create(artist=artist, name=f"{today.year - 1} Tour"),
            Tour.objects.create(artist=artist, name=f"{today.year} World Tour"),
        ]
        day = today - datetime.timedelta(days=730)
        for number in range(past_shows_per_artist):
            day += datetime.timedelta(days=rng.randint(3, 14))
            if day >= today:
                break
            show = show_create(
                artist=artist,
                venue=rng.choice(venues),
                tour=tours[0] if day.year < today.year else tours[1],
                date=day,
                status=Show.Status.COMPLETED,
                source=DEMO_SOURCE,
                source_id=f"{artist.slug}-{number}",
            )
            played = _setlist(rng, songs)
            encore_from = len(played) - rng.randint(2, 3)
            SetlistEntry.objects.bulk_create(
                SetlistEntry(
                    show=show,
                    song=song,
                    position=position,
                    set_marker=(
                        SetlistEntry.SetMarker.ENCORE
                        if position > encore_from
                        else SetlistEntry.SetMarker.MAIN
                    ),
                    set_number=1,
                )
                for position, song in enumerate(played, start=1)
            )
            shows_made += 1
            entries_made += len(played)
        for offset, open_for_votes in ((5 + artist_index, True), (19, True), (40, False)):
            show = show_create(
                artist=artist,
                venue=rng.choice(venues),
                tour=tours[1],
                date=today + datetime.timedelta(days=offset),
                source=DEMO_SOURCE,
                source_id=f"{artist.slug}-upcoming-{offset}",
            )
            shows_made += 1
            if not open_for_votes:
                continue
            show_transition(show=show, status=Show.Status.VOTING_OPEN)
            for user in rng.sample(users, k=len(users) // 2):
                Follow.objects.get_or_create(user=user, artist=artist)
                weights = [1 / (rank + 3) for rank in range(len(songs))]
                for song in set(rng.choices(songs, weights=weights, k=rng.randint(3, 9))):
                    value = 1 if rng.random() < 0.85 else -1
                    vote_cast(user=user, show_id=show.pk, song_id=song.pk, value=value)
                    votes_made += 1
    return DemoResult(len(ARTISTS), shows_made, entries_made, len(users), votes_made)


def demo_present() -> bool:
    return Show.objects.filter(source=DEMO_SOURCE).exists()

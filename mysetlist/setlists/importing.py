"""Import of shows and setlists from JSON lines, one show per line.

The format is that of the shared historical data (artist, date, venue, city, country, tour,
ordered songs with set markers, source, source_id). The whole file is validated before
anything is written, then written in one transaction, so bad input leaves nothing behind.
Re-running with the same file changes nothing.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from mysetlist.core import tiered_cache
from mysetlist.core.exceptions import ApplicationError
from notifications import services as notifications_services

from .lines import show_line_parse
from .models import Artist, SetlistEntry, Show, Song, Tour, Venue
from .selectors import catalogue_namespace

_SET_MARKERS = {str(n): (SetlistEntry.SetMarker.MAIN, n) for n in range(1, 6)} | {
    "e": (SetlistEntry.SetMarker.ENCORE, 1),
    "e2": (SetlistEntry.SetMarker.ENCORE, 2),
    "e3": (SetlistEntry.SetMarker.ENCORE, 3),
    None: (SetlistEntry.SetMarker.MAIN, None),
}
_MAX_ERRORS = 20
_BATCH = 5000


class ImportFileError(ApplicationError):
    pass


@dataclass(frozen=True)
class ShowRecord:
    line: int
    artist: str
    date: datetime.date
    venue: str | None
    city: str
    country: str
    tour: str | None
    songs: tuple[tuple[str, str, int | None], ...]  # title, set marker, set number
    source: str
    source_id: str


@dataclass
class ImportResult:
    shows_created: int = 0
    shows_updated: int = 0
    setlists_written: int = 0
    entries_written: int = 0
    artists_created: int = 0
    songs_created: int = 0
    venues_created: int = 0
    warnings: list[str] = field(default_factory=list)


def _parse_line(number: int, raw: str, warnings: list[str]) -> ShowRecord:
    line = show_line_parse(number, raw, warnings)
    return ShowRecord(
        line=line.line, artist=line.artist, date=line.date, venue=line.venue, city=line.city,
        country=line.country, tour=line.tour, source=line.source, source_id=line.source_id,
        songs=tuple((title, *_SET_MARKERS[marker]) for title, marker in line.songs),
    )  # fmt: skip


def setlists_parse(*, lines: Iterable[str], warnings: list[str]) -> list[ShowRecord]:
    """Validate every line; raise ImportFileError naming each bad line (up to twenty).

    Songs without a title are left out, each with a warning appended to `warnings`.
    """
    records, errors, seen = [], [], {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = _parse_line(number, raw, warnings)
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
        else:
            key = (record.source, record.source_id)
            if key in seen:
                errors.append(f"line {number}: same source and source_id as line {seen[key]}")
            seen[key] = number
            records.append(record)
        if len(errors) >= _MAX_ERRORS:
            errors.append("(stopped after twenty errors)")
            break
    if errors:
        raise ImportFileError(
            "Nothing was imported; fix these lines first:\n" + "\n".join(errors),
            extra={"errors": errors},
        )
    return records


def _unique_slug(name: str, taken: set[str]) -> str:
    base = slugify(name)[:190] or "artist"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _artists(records: list[ShowRecord], result: ImportResult) -> dict[str, int]:
    existing = dict(Artist.objects.values_list("name", "id"))
    taken = set(Artist.objects.values_list("slug", flat=True))
    missing = sorted({r.artist for r in records} - existing.keys())
    Artist.objects.bulk_create([Artist(name=n, slug=_unique_slug(n, taken)) for n in missing])
    result.artists_created = len(missing)
    return dict(Artist.objects.values_list("name", "id"))


def _venues(records: list[ShowRecord], result: ImportResult) -> dict[tuple, int]:
    wanted = {(r.venue, r.city, r.country) for r in records if r.venue}
    before = Venue.objects.count()
    Venue.objects.bulk_create(
        [Venue(name=n, city=c, country=k) for n, c, k in sorted(wanted)],
        ignore_conflicts=True,
        batch_size=_BATCH,
    )
    result.venues_created = Venue.objects.count() - before
    return {
        (n, c, k): pk for pk, n, c, k in Venue.objects.values_list("id", "name", "city", "country")
    }


def _tours(records: list[ShowRecord], artist_ids: dict[str, int]) -> dict[tuple, int]:
    wanted = {(artist_ids[r.artist], r.tour) for r in records if r.tour}
    Tour.objects.bulk_create(
        [Tour(artist_id=a, name=n) for a, n in sorted(wanted)], ignore_conflicts=True
    )
    return {(a, n): pk for pk, a, n in Tour.objects.values_list("id", "artist_id", "name")}


def _sql_lower(texts: list[str]) -> dict[str, str]:
    """Return each text lowercased by the database itself, as its unique constraint sees it.

    Python's str.lower() and SQL's LOWER() disagree on some letters (PostgreSQL folds "İ"
    differently; SQLite folds ASCII only), so matching must use the database's own answer.
    """
    lowered = {}
    with connection.cursor() as cursor:
        for start in range(0, len(texts), 500):
            chunk = texts[start : start + 500]
            cursor.execute("SELECT " + ", ".join(["LOWER(CAST(%s AS TEXT))"] * len(chunk)), chunk)
            lowered.update(zip(chunk, cursor.fetchone(), strict=True))
    return lowered


def _song_keys(artist_ids: set[int]) -> dict[tuple[int, str], int]:
    songs = Song.objects.filter(artist_id__in=artist_ids).annotate(key=Lower("title"))
    return {(a, key): pk for pk, a, key in songs.values_list("id", "artist_id", "key")}


def _songs(
    records: list[ShowRecord], artist_ids: dict[str, int], result: ImportResult
) -> dict[tuple[int, str], int]:
    """Create missing songs; return song ids by (artist id, title as written in the file)."""
    titles = {(artist_ids[r.artist], title): None for r in records for title, _, _ in r.songs}
    lowered = _sql_lower(sorted({title for _, title in titles}))
    wanted: dict[tuple[int, str], str] = {}
    for artist_id, title in titles:
        wanted.setdefault((artist_id, lowered[title]), title)
    known = _song_keys(set(artist_ids.values()))
    before = len(known)
    Song.objects.bulk_create(
        [
            Song(artist_id=a, title=title)
            for (a, key), title in wanted.items()
            if (a, key) not in known
        ],
        ignore_conflicts=True,
        batch_size=_BATCH,
    )
    known = _song_keys(set(artist_ids.values()))
    result.songs_created = len(known) - before
    return {(a, title): known[(a, lowered[title])] for a, title in titles}


def _shows(
    records: list[ShowRecord], artist_ids: dict, venue_ids: dict, tour_ids: dict, result
) -> dict[tuple, int]:
    today = timezone.now().date()
    existing = {
        (s.source, s.source_id): s
        for s in Show.objects.filter(source__in={r.source for r in records})
    }
    to_create, to_update = [], []
    for r in records:
        artist_id = artist_ids[r.artist]
        values = {
            "artist_id": artist_id,
            "venue_id": venue_ids.get((r.venue, r.city, r.country)),
            "tour_id": tour_ids.get((artist_id, r.tour)),
            "date": r.date,
        }
        show = existing.get((r.source, r.source_id))
        if show is None:
            # A show already played is complete; one still to come waits to be opened.
            status = Show.Status.COMPLETED if r.date < today else Show.Status.ANNOUNCED
            to_create.append(Show(source=r.source, source_id=r.source_id, status=status, **values))
        elif any(getattr(show, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(show, name, value)
            to_update.append(show)
    Show.objects.bulk_create(to_create, batch_size=_BATCH)
    for show in to_create:  # in the import's transaction, as show_create does
        notifications_services.trigger_record_show_created(show=show)
    Show.objects.bulk_update(to_update, ["artist", "venue", "tour", "date"], batch_size=_BATCH)
    result.shows_created, result.shows_updated = len(to_create), len(to_update)
    return {
        (source, source_id): pk
        for pk, source, source_id in Show.objects.filter(
            source__in={r.source for r in records}
        ).values_list("id", "source", "source_id")
    }


def _setlists(records, artist_ids, song_ids, show_ids, result, progress) -> None:
    wanted = {}
    for r in records:
        artist_id = artist_ids[r.artist]
        wanted[show_ids[(r.source, r.source_id)]] = [
            (position, song_ids[(artist_id, title)], marker, number)
            for position, (title, marker, number) in enumerate(r.songs, start=1)
        ]
    show_pks = list(wanted)
    current: dict[int, list] = {pk: [] for pk in show_pks}
    for start in range(0, len(show_pks), _BATCH):
        rows = SetlistEntry.objects.filter(show_id__in=show_pks[start : start + _BATCH])
        for show_id, *entry in rows.order_by("show_id", "position").values_list(
            "show_id", "position", "song_id", "set_marker", "set_number"
        ):
            current[show_id].append(tuple(entry))
    changed = [pk for pk in show_pks if current[pk] != wanted[pk]]
    for start in range(0, len(changed), _BATCH):
        SetlistEntry.objects.filter(show_id__in=changed[start : start + _BATCH]).delete()
    entries = [
        SetlistEntry(show_id=pk, position=p, song_id=s, set_marker=m, set_number=n)
        for pk in changed
        for p, s, m, n in wanted[pk]
    ]
    for start in range(0, len(entries), _BATCH):
        batch = entries[start : start + _BATCH]
        SetlistEntry.objects.bulk_create(batch)
        progress(len(batch))
    result.setlists_written, result.entries_written = len(changed), len(entries)


@transaction.atomic
def setlists_import(
    *,
    records: list[ShowRecord],
    warnings: list[str] | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportResult:
    """Write validated show records; return what was created and changed."""
    result = ImportResult(warnings=list(warnings or []))
    artist_ids = _artists(records, result)
    venue_ids = _venues(records, result)
    tour_ids = _tours(records, artist_ids)
    song_ids = _songs(records, artist_ids, result)
    show_ids = _shows(records, artist_ids, venue_ids, tour_ids, result)
    _setlists(records, artist_ids, song_ids, show_ids, result, progress)
    # Bulk writes send no signals: the artists' songs and play counts changed here.
    tiered_cache.invalidate_on_commit(*(catalogue_namespace(pk) for pk in set(artist_ids.values())))
    return result


def setlists_import_file(*, path: Path, progress=lambda n: None) -> ImportResult:
    warnings: list[str] = []
    try:
        with open(path, encoding="utf-8") as handle:
            records = setlists_parse(lines=handle, warnings=warnings)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text ({exc.reason}).") from exc
    except OSError as exc:
        raise ImportFileError(f"Cannot read {path}: {exc.strerror}.") from exc
    return setlists_import(records=records, warnings=warnings, progress=progress)

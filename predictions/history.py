"""Past shows read from JSON lines in the shared historical format, for backtests.

Pure: imports nothing from Django. The rules are the importer's
(`mysetlist.setlists.importing.setlists_parse`: artist and date required, songs a list of
objects, set markers 1-5, e, e2, e3 or null, nameless songs skipped), kept minimal here
because that parser lives beside the ORM and another app may not import it. Titles are
case-folded so that "Tweezer" and "tweezer" are one song, as the baselines count them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SET_MARKERS = frozenset({"1", "2", "3", "4", "5", "e", "e2", "e3", None})
_MAX_ERRORS = 20


class HistoryError(ValueError):
    """Malformed input; the message names every bad line (up to twenty)."""


@dataclass(frozen=True)
class PlayedSong:
    title: str  # case-folded
    set: str | None


@dataclass(frozen=True)
class PastShow:
    artist: str
    date: datetime.date
    venue: str | None
    city: str | None
    tour: str | None
    songs: tuple[PlayedSong, ...]  # in the order played
    line: int = 0

    @property
    def titles(self) -> tuple[str, ...]:
        """Return the distinct titles in the order first played."""
        return tuple(dict.fromkeys(song.title for song in self.songs))


def _text(record: dict, key: str) -> str | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, not {type(value).__name__}")
    return value.strip()


def _show(number: int, raw: str) -> PastShow:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    artist = _text(record, "artist")
    if artist is None:
        raise ValueError("'artist' is required")
    try:
        date = datetime.date.fromisoformat(_text(record, "date") or "")
    except ValueError as exc:
        raise ValueError(f"'date' must be YYYY-MM-DD ({exc})") from exc
    raw_songs = record.get("songs", [])
    if not isinstance(raw_songs, list):
        raise ValueError("'songs' must be a list")
    songs = []
    for index, song in enumerate(raw_songs, start=1):
        if not isinstance(song, dict):
            raise ValueError(f"song {index} must be an object with a title")
        try:
            title = _text(song, "title")
        except ValueError as exc:
            raise ValueError(f"song {index}: {exc}") from exc
        if song.get("set") not in SET_MARKERS:
            raise ValueError(f"song {index}: unknown set marker {song.get('set')!r}")
        if title is not None:  # nameless songs are skipped, as the importer skips them
            songs.append(PlayedSong(title=title.casefold(), set=song.get("set")))
    return PastShow(
        artist=artist,
        date=date,
        venue=_text(record, "venue"),
        city=_text(record, "city"),
        tour=_text(record, "tour"),
        songs=tuple(songs),
        line=number,
    )


def shows_read(source: Path | str | Iterable[str]) -> list[PastShow]:
    """Return the shows of a JSON-lines file (a path) or of lines, sorted by artist and date.

    Raise HistoryError naming each bad line if any line is malformed.
    """
    if isinstance(source, str | Path):
        try:
            with open(source, encoding="utf-8") as handle:
                return shows_read(handle)
        except UnicodeDecodeError as exc:
            raise HistoryError(f"{source} is not UTF-8 text ({exc.reason}).") from exc
        except OSError as exc:
            raise HistoryError(f"Cannot read {source}: {exc.strerror}.") from exc
    shows, errors = [], []
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        try:
            shows.append(_show(number, raw))
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
            if len(errors) >= _MAX_ERRORS:
                errors.append("(stopped after twenty errors)")
                break
    if errors:
        raise HistoryError("Bad input; fix these lines first:\n" + "\n".join(errors))
    # Stable: shows of one artist on one date keep the file's order (early and late shows).
    return sorted(shows, key=lambda show: (show.artist, show.date))

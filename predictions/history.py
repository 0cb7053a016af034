"""Past shows read from JSON lines in the shared historical format, for backtests.

Pure: imports nothing from Django. Each line is read by the importer's own rules
(`mysetlist.setlists.lines`, the format's one reader), nameless songs left out. Titles are
case-folded so that "Tweezer" and "tweezer" are one song, as the baselines count them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mysetlist.setlists.lines import show_line_parse

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


def _show(number: int, raw: str) -> PastShow:
    line = show_line_parse(number, raw, [])
    return PastShow(
        artist=line.artist,
        date=line.date,
        venue=line.venue,
        city=line.city or None,
        tour=line.tour,
        songs=tuple(PlayedSong(title=title.casefold(), set=marker) for title, marker in line.songs),
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

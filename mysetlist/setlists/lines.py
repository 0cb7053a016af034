"""One show per line in JSON, the format of the shared historical data: its rules, read
into plain records. Pure: no Django, so the importer and the predictions backtest, which
reads files it does not import, share it (a module every app may import, see pyproject).

A line: artist, date (YYYY-MM-DD), venue, city, country, tour, songs in the order played,
each a title and a set marker (1 to 5, e, e2, e3 or null), source, source_id.
"""

import datetime
import hashlib
import json
from dataclasses import dataclass

SET_MARKERS = frozenset({"1", "2", "3", "4", "5", "e", "e2", "e3", None})


@dataclass(frozen=True)
class ShowLine:
    line: int
    artist: str
    date: datetime.date
    venue: str | None
    city: str
    country: str
    tour: str | None
    songs: tuple[tuple[str, str | None], ...]  # title, set marker as written
    source: str
    source_id: str


def text_field(record: dict, key: str, *, required: bool = False, limit: int = 200) -> str | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{key!r} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, not {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"{key!r} is longer than {limit} characters")
    return value


def show_line_parse(number: int, raw: str, warnings: list[str]) -> ShowLine:
    """Return line `number` of a file read; raise ValueError saying what is wrong with it.
    Songs without a title are left out, each with a warning appended to `warnings`."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    artist = text_field(record, "artist", required=True)
    try:
        date = datetime.date.fromisoformat(text_field(record, "date", required=True))
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
            title = text_field(song, "title", limit=300)
        except ValueError as exc:
            raise ValueError(f"song {index}: {exc}") from exc
        if title is None:
            # Sources leave a title out now and then; nobody can vote for a nameless song.
            warnings.append(f"line {number}: song {index} has no title and was skipped")
            continue
        marker = song.get("set")
        if marker not in SET_MARKERS:
            raise ValueError(f"song {index}: unknown set marker {marker!r}")
        songs.append((title, marker))
    source = text_field(record, "source", limit=50) or "import"
    source_id = record.get("source_id")
    if isinstance(source_id, int):
        source_id = str(source_id)
    elif source_id is not None and not isinstance(source_id, str):
        raise ValueError("'source_id' must be a string or a number")
    if not source_id:
        # No id of its own: the show is known by who, when and where.
        key = f"{artist}|{date}|{record.get('venue')}|{record.get('city')}"
        source_id = hashlib.sha1(key.encode()).hexdigest()[:40]
    return ShowLine(
        line=number,
        artist=artist,
        date=date,
        venue=text_field(record, "venue"),
        city=text_field(record, "city") or "",
        country=text_field(record, "country", limit=100) or "",
        tour=text_field(record, "tour"),
        songs=tuple(songs),
        source=source,
        source_id=source_id[:100],
    )

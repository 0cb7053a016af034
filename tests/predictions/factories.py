"""A made-up band's history in the shared format, and a fitted model on it, for the tests
that need the database: ten songs every night in one order, six of twenty-four in rotation,
an encore that alternates."""

import datetime
import json

from mysetlist.setlists.importing import setlists_import, setlists_parse

CORE = [f"Core {i}" for i in range(1, 11)]
ROTATION = [f"Rare {i}" for i in range(1, 25)]
ENCORES = ["Closer A", "Closer B"]


def band_start(shows: int = 60) -> datetime.date:
    """The first show's date such that the band's next show, three days after its last,
    falls two days from today: upcoming, as predictions need."""
    return datetime.date.today() + datetime.timedelta(days=2 - 3 * shows)


def band_lines(artist: str = "Made-up Band", shows: int = 60, start=None) -> list[str]:
    first = datetime.date.fromisoformat(start) if start else band_start()
    lines = []
    for i in range(shows):
        rotating = [ROTATION[(3 * i + j) % len(ROTATION)] for j in range(6)]
        songs = [{"title": t, "set": "1"} for t in CORE[:5] + rotating[:3]]
        songs += [{"title": t, "set": "2"} for t in rotating[3:] + CORE[5:]]
        songs.append({"title": ENCORES[i % 2], "set": "e"})
        lines.append(
            json.dumps(
                {
                    "artist": artist,
                    "date": (first + datetime.timedelta(days=3 * i)).isoformat(),
                    "venue": f"Hall {i % 7}",
                    "city": f"City {i % 7}",
                    "country": "USA",
                    "tour": None,
                    "songs": songs,
                    "source": "test",
                    "source_id": f"{artist}-{i}",
                }
            )
        )
    return lines


def band_import(**kwargs):
    warnings: list[str] = []
    return setlists_import(records=setlists_parse(lines=band_lines(**kwargs), warnings=warnings))


def band_show_open():
    """The made-up band's history imported and the model fitted on it, and its next show,
    three days after the last, open for voting (not predicted yet)."""
    from mysetlist.setlists.models import Show
    from predictions import services
    from tests.setlists.factories import ShowFactory

    band_import()
    services.model_fit(histories=services.imported_histories(), last=10)
    artist = Show.objects.filter(artist__name="Made-up Band").first().artist
    return ShowFactory(
        artist=artist,
        date=artist.shows.order_by("date").last().date + datetime.timedelta(days=3),
        status=Show.Status.VOTING_OPEN,
    )

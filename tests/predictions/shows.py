"""Made-up shows for the predictions tests: small enough to check each figure by hand."""

import datetime

from predictions.history import PastShow, PlayedSong


def show(date: str, *titles: str, artist: str = "Band") -> PastShow:
    return PastShow(
        artist=artist,
        date=datetime.date.fromisoformat(date),
        venue=None,
        city=None,
        tour=None,
        songs=tuple(PlayedSong(title=title, set="1") for title in titles),
    )

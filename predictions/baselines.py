"""The honest baselines of the shared data's README, each a ranking from earlier shows only.

Pure: imports nothing from Django. Each baseline takes the artist's shows strictly before the
show to predict, oldest first, and returns a Prediction: songs ranked best first, and the
probability it gives each song (songs it does not name get 0).

Ties are broken the same way everywhere: by the most recent show the song was played at
(later first), then by title, so a ranking never depends on dict order.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .history import PastShow

NOTEBOOK_DAYS = 365
NOTEBOOK_SKIP = 3


@dataclass(frozen=True)
class Prediction:
    ranking: tuple[str, ...]
    probabilities: dict[str, float] = field(default_factory=dict)

    def probability(self, title: str) -> float:
        """Return the probability given to a song; 0 for one the prediction does not name."""
        return self.probabilities.get(title, 0.0)


Baseline = Callable[[Sequence[PastShow], datetime.date], Prediction]


def _last_played(earlier: Sequence[PastShow]) -> dict[str, int]:
    """Return, per song, the index of the latest earlier show it was played at."""
    last: dict[str, int] = {}
    for index, show in enumerate(earlier):
        for title in show.titles:
            last[title] = index
    return last


def _ranked(scores: dict[str, float], last: dict[str, int]) -> tuple[str, ...]:
    return tuple(sorted(scores, key=lambda t: (-scores[t], -last.get(t, -1), t)))


def freq(earlier: Sequence[PastShow], date: datetime.date, *, n: int) -> Prediction:
    """Rank the songs most played in the artist's last `n` shows.

    A song's probability is the share of those shows it was played at (count / shows).
    """
    window = earlier[-n:]
    counts = Counter(title for show in window for title in show.titles)
    last = _last_played(window)
    probabilities = {title: count / len(window) for title, count in counts.items()}
    return Prediction(ranking=_ranked(probabilities, last), probabilities=probabilities)


def freq10(earlier: Sequence[PastShow], date: datetime.date) -> Prediction:
    return freq(earlier, date, n=10)


def freq50(earlier: Sequence[PastShow], date: datetime.date) -> Prediction:
    return freq(earlier, date, n=50)


def notebook(earlier: Sequence[PastShow], date: datetime.date) -> Prediction:
    """Rank the songs played in the last 365 days but not at the last 3 shows.

    The rule names a set, not an order: its songs come first, ranked by how often they were
    played in those 365 days, then the year's songs it set aside (played at the last 3 shows),
    ranked the same way. Only the rule's songs get a probability, 1 ("expect it"). Ranking the
    set-aside songs after the rule's is what reproduces the README's figures (Springsteen's
    0.12: his rule sets are short, as a tour repeats its songs every night).
    """
    since = date - datetime.timedelta(days=NOTEBOOK_DAYS)
    start = len(earlier)
    while start > 0 and earlier[start - 1].date >= since:
        start -= 1
    year = earlier[start:]
    recent = {title for show in earlier[-NOTEBOOK_SKIP:] for title in show.titles}
    counts = Counter(title for show in year for title in show.titles)
    last = _last_played(year)
    rule = {title: count for title, count in counts.items() if title not in recent}
    set_aside = {title: count for title, count in counts.items() if title in recent}
    ranking = _ranked(rule, last) + _ranked(set_aside, last)
    return Prediction(ranking=ranking, probabilities=dict.fromkeys(rule, 1.0))


def prev(earlier: Sequence[PastShow], date: datetime.date) -> Prediction:
    """Repeat the previous show, in the order it was played, each song with probability 1."""
    ranking = earlier[-1].titles if earlier else ()
    return Prediction(ranking=ranking, probabilities=dict.fromkeys(ranking, 1.0))


BASELINES: dict[str, Baseline] = {
    "freq10": freq10,
    "freq50": freq50,
    "notebook": notebook,
    "prev": prev,
}

"""Features of every song of an artist for one show, from the artist's earlier shows only.

Pure: numpy, no Django. `ArtistHistory` holds an artist's past shows as matrices (show x
song), built once; `features(cutoff, target)` describes each song the artist had played
before show number `cutoff` (the shows `[0, cutoff)` are all the model may see) as one row of
FEATURES. Every feature is relative to the artist (shares, gaps against the song's own usual
gap, the artist's own repeat habit), so one model serves artists it was never fitted on.
"""

from __future__ import annotations

import bisect
import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .history import PastShow

LEG_GAP_DAYS = 21  # shows at most three weeks apart are one leg of a tour
RUN_GAP_DAYS = 4  # shows in one city at most four days apart are one run in town
ENCORE_MARKERS = frozenset({"e", "e2", "e3"})
DECAY_HALF_LIVES = (5, 20)  # in shows

FEATURES = (
    "prev1",  # played at the previous show
    "prev2",  # played at the show before that
    "share3",  # share of the last 3 shows it was played at
    "share10",
    "share25",
    "share50",
    "share100",
    "share_all",  # plays per show since its debut
    "decay5",  # play share with weights halving every 5 shows back
    "decay20",
    "year_share",  # share of the last 365 days' shows
    "tour_share",  # share of this tour's (or leg's) earlier shows
    "tour_shows",  # log(1 + earlier shows of this tour)
    "tour_prev1",  # played at this tour's latest earlier show
    "tour_last3",  # share of this tour's last 3 earlier shows
    "tour_last10",
    "tour_streak",  # this tour's latest earlier shows in a row it was played at, of at most 10
    "streak",  # log(1 + the latest shows in a row it was played at)
    "song_repeat",  # of its plays in the last 100 shows, the share repeated at the next show
    "gap",  # log(1 + shows since last played)
    "usual_gap",  # log(1 + shows since debut per play)
    "due",  # shows since last played / usual gap
    "days_since_played",  # log(1 + days)
    "age",  # log(1 + shows since its debut)
    "plays",  # log(1 + plays)
    "run_played",  # played earlier in this run of shows in the same city
    "venue_share",  # share of the venue's earlier shows it was played at
    "venue_shows",  # log(1 + earlier shows at the venue)
    "city_share",
    "city_shows",
    "opener_rate",  # share of its plays that opened a show
    "closer_rate",  # share that closed the main set
    "encore_rate",  # share played in an encore
    "days_off",  # log(1 + days since the artist's previous show)
    "artist_repeat",  # the artist's habit: share of a show repeated from the one before
    "artist_rotation",  # distinct songs in the last 50 shows per song a show
    "rank_decay5",  # the song's rank by decay5 among the artist's songs / expected length
    "rank_share25",
    "rank_tour",  # by tour_share, then decay5
    "rank_year",
    "expected_length",  # log(median songs of the last 10 shows)
)
INDEX = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class Target:
    """What is known of the show to predict before it is played."""

    date: datetime.date
    venue: str | None = None
    city: str | None = None
    tour: str | None = None


def _key(text: str | None) -> str | None:
    return text.casefold().strip() if text else None


def _ranks(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Return each entry's rank (0 = best) by `primary`, ties broken by `secondary`."""
    order = np.lexsort((-secondary, -primary))
    ranks = np.empty(len(primary), dtype=np.float32)
    ranks[order] = np.arange(len(primary), dtype=np.float32)
    return ranks


class ArtistHistory:
    """An artist's past shows (oldest first) as play matrices."""

    def __init__(self, shows: Sequence[PastShow]) -> None:
        self.shows = list(shows)
        self.dates = [show.date for show in self.shows]
        titles = dict.fromkeys(title for show in self.shows for title in show.titles)
        self.songs = list(titles)
        self.song_index = {title: i for i, title in enumerate(self.songs)}
        n, s = len(self.shows), len(self.songs)
        played = np.zeros((n, s), dtype=np.float32)
        opener = np.zeros((n, s), dtype=np.float32)
        closer = np.zeros((n, s), dtype=np.float32)
        encore = np.zeros((n, s), dtype=np.float32)
        position = np.zeros((n, s), dtype=np.float32)
        self.lengths = np.zeros(n, dtype=np.int32)
        self.encore_lengths = np.zeros(n, dtype=np.int32)
        for row, show in enumerate(self.shows):
            titles_in_order = show.titles
            self.lengths[row] = len(titles_in_order)
            columns = [self.song_index[t] for t in titles_in_order]
            played[row, columns] = 1
            if columns:
                last = max(len(columns) - 1, 1)
                position[row, columns] = [i / last for i in range(len(columns))]
                opener[row, columns[0]] = 1
            encores = {song.title for song in show.songs if song.set in ENCORE_MARKERS}
            self.encore_lengths[row] = len(encores)
            main = [t for t in titles_in_order if t not in encores]
            if main:
                closer[row, self.song_index[main[-1]]] = 1
            for title in encores:
                encore[row, self.song_index[title]] = 1
        self.played = played
        pairs = np.zeros_like(played)
        pairs[1:] = played[1:] * played[:-1]  # played at this show and the one before
        zero = np.zeros((1, s), dtype=np.float32)
        # cum[i] = plays in shows [0, i): a window's count is a difference of two rows.
        self.cum = np.concatenate([zero, np.cumsum(played, axis=0)])
        self.cum_opener = np.concatenate([zero, np.cumsum(opener, axis=0)])
        self.cum_closer = np.concatenate([zero, np.cumsum(closer, axis=0)])
        self.cum_encore = np.concatenate([zero, np.cumsum(encore, axis=0)])
        self.cum_position = np.concatenate([zero, np.cumsum(position, axis=0)])
        self.cum_pairs = np.concatenate([zero, np.cumsum(pairs, axis=0)])
        # last[i] = index of the latest show before i that played the song (-1: none yet).
        marks = np.where(played > 0, np.arange(n, dtype=np.int32)[:, None], -1)
        self.last = np.concatenate(
            [np.full((1, s), -1, dtype=np.int32), np.maximum.accumulate(marks, axis=0)]
        )
        # absent[i] = index of the latest show before i that did not play the song (-1: none).
        gaps = np.where(played > 0, -1, np.arange(n, dtype=np.int32)[:, None])
        self.absent = np.concatenate(
            [np.full((1, s), -1, dtype=np.int32), np.maximum.accumulate(gaps, axis=0)]
        )
        first = np.where(played.any(axis=0), played.argmax(axis=0) if n else 0, n)
        self.first = first.astype(np.int32)
        self._venues = [_key(show.venue) for show in self.shows]
        self._cities = [_key(show.city) for show in self.shows]
        self._tours = [_key(show.tour) for show in self.shows]

    def cutoff(self, date: datetime.date) -> int:
        """Return how many shows come strictly before `date`."""
        return bisect.bisect_left(self.dates, date)

    def known(self, cutoff: int) -> np.ndarray:
        """Return the columns of the songs played before show `cutoff`."""
        return np.flatnonzero(self.first < cutoff)

    def _share(self, cutoff: int, window: int, columns: np.ndarray) -> np.ndarray:
        start = max(cutoff - window, 0)
        shows = cutoff - start
        if not shows:
            return np.zeros(len(columns), dtype=np.float32)
        return (self.cum[cutoff, columns] - self.cum[start, columns]) / shows

    def _rows_share(self, rows: list[int], columns: np.ndarray) -> np.ndarray:
        if not rows:
            return np.zeros(len(columns), dtype=np.float32)
        return self.played[np.ix_(rows, columns)].mean(axis=0)

    def _decay(self, cutoff: int, half_life: int, columns: np.ndarray) -> np.ndarray:
        span = min(cutoff, half_life * 6)
        if not span:
            return np.zeros(len(columns), dtype=np.float32)
        weights = 0.5 ** (np.arange(span, 0, -1, dtype=np.float32) / half_life - 1 / half_life)
        block = self.played[cutoff - span : cutoff][:, columns]
        return weights @ block / weights.sum()

    def tour_rows(self, cutoff: int, target: Target) -> list[int]:
        """Return the earlier shows of the target's tour: those with its tour name when it
        has one, otherwise the leg (shows at most LEG_GAP_DAYS apart) it continues."""
        tour = _key(target.tour)
        if tour:
            rows = [i for i in range(cutoff) if self._tours[i] == tour]
            if rows:
                return rows
        rows, date = [], target.date
        for i in range(cutoff - 1, -1, -1):
            if (date - self.dates[i]).days > LEG_GAP_DAYS:
                break
            rows.append(i)
            date = self.dates[i]
        return rows[::-1]

    def run_rows(self, cutoff: int, target: Target) -> list[int]:
        """Return the earlier shows of the run in the target's city it continues."""
        city = _key(target.city)
        rows, date = [], target.date
        for i in range(cutoff - 1, -1, -1):
            if not city or self._cities[i] != city or (date - self.dates[i]).days > RUN_GAP_DAYS:
                break
            rows.append(i)
            date = self.dates[i]
        return rows

    def artist_repeat(self, cutoff: int, window: int = 10) -> float:
        """Return the mean share of a show's songs also played at the show before it."""
        shares = []
        for i in range(max(cutoff - window, 1), cutoff):
            now, before = self.played[i], self.played[i - 1]
            if now.sum():
                shares.append(float((now * before).sum() / now.sum()))
        return float(np.mean(shares)) if shares else 0.0

    def artist_rotation(self, cutoff: int, window: int = 50) -> float:
        """Return the distinct songs of the last shows per song a show (1: the same set
        every night; high: a deep rotation)."""
        start = max(cutoff - window, 0)
        lengths = self.lengths[start:cutoff]
        if not len(lengths) or not lengths.mean():
            return 1.0
        distinct = int(((self.cum[cutoff] - self.cum[start]) > 0).sum())
        return distinct / float(lengths.mean())

    def features(self, cutoff: int, target: Target) -> tuple[np.ndarray, np.ndarray]:
        """Return (columns, matrix): the songs played before show `cutoff` and their rows."""
        columns = self.known(cutoff)
        x = np.zeros((len(columns), len(FEATURES)), dtype=np.float32)
        if not len(columns):
            return columns, x
        f = INDEX
        x[:, f["prev1"]] = self.played[cutoff - 1, columns]
        if cutoff >= 2:
            x[:, f["prev2"]] = self.played[cutoff - 2, columns]
        for window in (3, 10, 25, 50, 100):
            x[:, f[f"share{window}"]] = self._share(cutoff, window, columns)
        plays = self.cum[cutoff, columns]
        age = cutoff - self.first[columns]  # shows since (and including) the debut
        x[:, f["share_all"]] = plays / age
        for half_life in DECAY_HALF_LIVES:
            x[:, f[f"decay{half_life}"]] = self._decay(cutoff, half_life, columns)
        year_start = bisect.bisect_left(self.dates, target.date - datetime.timedelta(days=365))
        year_start = min(year_start, cutoff)
        if cutoff > year_start:
            year = (self.cum[cutoff, columns] - self.cum[year_start, columns]) / (
                cutoff - year_start
            )
            x[:, f["year_share"]] = year
        tour = self.tour_rows(cutoff, target)
        x[:, f["tour_share"]] = self._rows_share(tour, columns)
        x[:, f["tour_shows"]] = math.log1p(len(tour))
        x[:, f["tour_prev1"]] = self._rows_share(tour[-1:], columns)
        x[:, f["tour_last3"]] = self._rows_share(tour[-3:], columns)
        x[:, f["tour_last10"]] = self._rows_share(tour[-10:], columns)
        if tour:
            recent = self.played[np.ix_(tour[-10:], columns)][::-1]
            x[:, f["tour_streak"]] = np.cumprod(recent, axis=0).sum(axis=0) / len(recent)
        x[:, f["streak"]] = np.log1p(cutoff - 1 - self.absent[cutoff, columns])
        start = max(cutoff - 100, 0)
        pairs = self.cum_pairs[cutoff, columns] - self.cum_pairs[min(start + 1, cutoff), columns]
        chances = self.cum[cutoff - 1, columns] - self.cum[start, columns]
        x[:, f["song_repeat"]] = pairs / np.maximum(chances, 1)
        last = self.last[cutoff, columns]
        gap = cutoff - 1 - last  # 0: played at the previous show
        usual = age / plays
        x[:, f["gap"]] = np.log1p(gap)
        x[:, f["usual_gap"]] = np.log1p(usual)
        x[:, f["due"]] = np.minimum((gap + 1) / usual, 50)
        last_dates = np.array([self.dates[i].toordinal() for i in last], dtype=np.float32)
        x[:, f["days_since_played"]] = np.log1p(target.date.toordinal() - last_dates)
        x[:, f["age"]] = np.log1p(age)
        x[:, f["plays"]] = np.log1p(plays)
        run = self.run_rows(cutoff, target)
        if run:
            x[:, f["run_played"]] = self.played[np.ix_(run, columns)].max(axis=0)
        venue, city = _key(target.venue), _key(target.city)
        venue_rows = [i for i in range(cutoff) if venue and self._venues[i] == venue]
        city_rows = [i for i in range(cutoff) if city and self._cities[i] == city]
        x[:, f["venue_share"]] = self._rows_share(venue_rows, columns)
        x[:, f["venue_shows"]] = math.log1p(len(venue_rows))
        x[:, f["city_share"]] = self._rows_share(city_rows, columns)
        x[:, f["city_shows"]] = math.log1p(len(city_rows))
        x[:, f["opener_rate"]] = self.cum_opener[cutoff, columns] / plays
        x[:, f["closer_rate"]] = self.cum_closer[cutoff, columns] / plays
        x[:, f["encore_rate"]] = self.cum_encore[cutoff, columns] / plays
        x[:, f["days_off"]] = math.log1p(max((target.date - self.dates[cutoff - 1]).days, 0))
        x[:, f["artist_repeat"]] = self.artist_repeat(cutoff)
        x[:, f["artist_rotation"]] = self.artist_rotation(cutoff)
        length = self.expected_length(cutoff)
        x[:, f["expected_length"]] = math.log(length)
        decay5 = x[:, f["decay5"]]
        for name, primary in (
            ("rank_decay5", decay5),
            ("rank_share25", x[:, f["share25"]]),
            ("rank_tour", x[:, f["tour_share"]]),
            ("rank_year", x[:, f["year_share"]]),
        ):
            x[:, f[name]] = _ranks(primary, decay5) / length
        return columns, x

    def expected_length(self, cutoff: int, window: int = 10) -> float:
        """Return the median number of songs of the artist's last shows (at least 1)."""
        lengths = self.lengths[max(cutoff - window, 0) : cutoff]
        return max(float(np.median(lengths)), 1.0) if len(lengths) else 1.0

    def mean_position(self, cutoff: int, columns: np.ndarray) -> np.ndarray:
        """Return each song's mean place in the shows it was played at (0 first, 1 last)."""
        plays = np.maximum(self.cum[cutoff, columns], 1)
        return self.cum_position[cutoff, columns] / plays

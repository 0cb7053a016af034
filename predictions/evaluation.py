"""Walk-forward (rolling-origin) backtests of setlist predictors.

Pure: imports nothing from Django. Each show is predicted only from the artist's shows on
earlier dates (shows on the same date, such as an early and a late show, are not seen), and
scored against its real setlist, taken as a set of distinct case-folded titles of size k:

- R-precision: the share of the prediction's top k that was played (precision at k);
- recall@25: the share of the real setlist found in the prediction's top 25;
- Jaccard: |top k ∩ real| / |top k ∪ real|;
- Brier score: the mean of (p - played)² over every song the artist had played before the
  show, plus the songs of the show itself (a debut counts as p = 0, played).

The shows evaluated are, per artist, the last `last` shows with at least `min_songs` songs, as
in the shared data's README.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from .baselines import Baseline, Prediction
from .history import PastShow

OVERALL = "overall"
MIN_SONGS = 8  # as the shared data's README evaluates


@dataclass(frozen=True)
class ArtistPredictor:
    """A predictor prepared once per artist (a fitted model reading the artist's history).

    `for_artist(shows)` is given every show of the artist and returns `predict(cutoff,
    target)`, which must use only `shows[:cutoff]`, the shows strictly before the target's
    date: the backtest's tests check that a model's answer does not change when the later
    shows are taken away.
    """

    for_artist: Callable[[Sequence[PastShow]], Callable[[int, PastShow], Prediction]]


def _prepared(predictor, history: Sequence[PastShow]) -> Callable[[int, PastShow], Prediction]:
    if isinstance(predictor, ArtistPredictor):
        return predictor.for_artist(history)
    return lambda cutoff, target: predictor(history[:cutoff], target.date)


@dataclass(frozen=True)
class ShowScore:
    r_precision: float
    recall_at_25: float
    jaccard: float
    brier: float


@dataclass(frozen=True)
class Summary:
    shows: int
    r_precision: float
    recall_at_25: float
    jaccard: float
    brier: float


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed: float  # the share of the bin's songs that were played


@dataclass(frozen=True)
class Report:
    summaries: dict[str, dict[str, Summary]]  # artist (and OVERALL) -> predictor -> summary
    calibration: dict[str, tuple[CalibrationBin, ...]]  # predictor -> bins, all artists
    # artist -> [(date, {predictor: R-precision})], each show evaluated, oldest first
    shows: dict[str, list[tuple[datetime.date, dict[str, float]]]] = field(default_factory=dict)


def show_score(prediction: Prediction, played: Iterable[str], universe: Iterable[str]) -> ShowScore:
    """Return the scores of one prediction against the titles played.

    `universe` is the songs the Brier score runs over besides those played.
    """
    actual = set(played)
    k = len(actual)
    if not k:
        raise ValueError("a show with no songs cannot be scored")
    top_k = set(prediction.ranking[:k])
    hits = len(top_k & actual)
    songs = set(universe) | actual
    brier = sum((prediction.probability(t) - (t in actual)) ** 2 for t in songs) / len(songs)
    return ShowScore(
        r_precision=hits / k,
        recall_at_25=len(set(prediction.ranking[:25]) & actual) / k,
        jaccard=hits / len(top_k | actual),
        brier=brier,
    )


def summarize(scores: Sequence[ShowScore]) -> Summary:
    """Return the mean of each score over shows (zeros for no shows)."""
    n = len(scores)
    if not n:
        return Summary(shows=0, r_precision=0.0, recall_at_25=0.0, jaccard=0.0, brier=0.0)
    return Summary(
        shows=n,
        r_precision=sum(s.r_precision for s in scores) / n,
        recall_at_25=sum(s.recall_at_25 for s in scores) / n,
        jaccard=sum(s.jaccard for s in scores) / n,
        brier=sum(s.brier for s in scores) / n,
    )


class _Bins:
    """Counts of predicted probability against outcome, in equal-width bins."""

    def __init__(self, bins: int) -> None:
        self.bins = bins
        self.counts, self.sums, self.hits = [0] * bins, [0.0] * bins, [0] * bins

    def add(self, probability: float, outcome: bool) -> None:
        index = min(int(probability * self.bins), self.bins - 1)
        self.counts[index] += 1
        self.sums[index] += probability
        self.hits[index] += bool(outcome)

    def table(self) -> tuple[CalibrationBin, ...]:
        return tuple(
            CalibrationBin(
                lower=i / self.bins,
                upper=(i + 1) / self.bins,
                count=self.counts[i],
                mean_predicted=self.sums[i] / self.counts[i],
                observed=self.hits[i] / self.counts[i],
            )
            for i in range(self.bins)
            if self.counts[i]
        )


def calibration_table(
    pairs: Iterable[tuple[float, bool]], *, bins: int = 10
) -> tuple[CalibrationBin, ...]:
    """Return equal-width bins of predicted probability with the share observed in each.

    A probability of exactly 1 falls in the last bin; empty bins are left out.
    """
    counts = _Bins(bins)
    for probability, outcome in pairs:
        counts.add(probability, outcome)
    return counts.table()


def evaluation_targets(shows: Sequence[PastShow], *, last: int, min_songs: int) -> list[int]:
    """Return the indexes of the artist's last `last` shows with at least `min_songs` songs."""
    eligible = [i for i, show in enumerate(shows) if len(show.titles) >= min_songs]
    return eligible[-last:] if last else []


def walk_forward(
    shows: Iterable[PastShow],
    predictors: Mapping[str, Baseline | ArtistPredictor],
    *,
    last: int = 200,
    min_songs: int = MIN_SONGS,
    progress: Callable[[int], None] = lambda n: None,
) -> Report:
    """Backtest each predictor on each artist's last shows; return summaries and calibration.

    `progress` is called with 1 after each show evaluated.
    """
    ordered = sorted(shows, key=lambda show: (show.artist, show.date))
    per_show: dict[str, dict[str, list[ShowScore]]] = {}
    bins = {name: _Bins(10) for name in predictors}
    dated: dict[str, list[tuple[datetime.date, dict[str, float]]]] = {}
    for artist, group in groupby(ordered, key=lambda show: show.artist):
        history = list(group)
        dates = [show.date for show in history]
        scores = per_show[artist] = {name: [] for name in predictors}
        prepared = {name: _prepared(p, history) for name, p in predictors.items()}
        dated[artist] = []
        universe: set[str] = set()  # every song played before the target's date
        seen = 0
        for index in evaluation_targets(history, last=last, min_songs=min_songs):
            target = history[index]
            cutoff = bisect.bisect_left(dates, target.date)
            for show in history[seen:cutoff]:
                universe.update(show.titles)
            seen = cutoff
            played = set(target.titles)
            songs = universe | played
            for name, predict in prepared.items():
                prediction = predict(cutoff, target)
                scores[name].append(show_score(prediction, played, universe))
                for title in songs:
                    bins[name].add(prediction.probability(title), title in played)
            dated[artist].append(
                (target.date, {name: scores[name][-1].r_precision for name in predictors})
            )
            progress(1)
    summaries = {
        artist: {name: summarize(s) for name, s in scores.items()}
        for artist, scores in per_show.items()
    }
    summaries[OVERALL] = {
        name: summarize([s for scores in per_show.values() for s in scores[name]])
        for name in predictors
    }
    calibration = {name: counts.table() for name, counts in bins.items()}
    return Report(summaries=summaries, calibration=calibration, shows=dated)

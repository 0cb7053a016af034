"""The honest backtest: fit the model only on shows before each artist's evaluation window,
then predict every show of the window from the shows before it, beside the baselines.

Pure: no Django.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby

from .baselines import BASELINES
from .evaluation import MIN_SONGS, ArtistPredictor, Report, evaluation_targets, walk_forward
from .history import PastShow
from .model import fit, model_predictor, training_set

MODEL = "model"


@dataclass(frozen=True)
class Backtest:
    report: Report
    windows: dict[str, tuple[datetime.date, datetime.date, int]]  # training, per artist
    evaluated_from: dict[str, datetime.date]  # each artist's first show evaluated
    fit_seconds: float
    seconds: float


def by_artist(shows: Iterable[PastShow]) -> dict[str, list[PastShow]]:
    ordered = sorted(shows, key=lambda show: (show.artist, show.date))
    return {artist: list(group) for artist, group in groupby(ordered, key=lambda s: s.artist)}


def evaluation_starts(
    histories: Mapping[str, list[PastShow]], *, last: int, min_songs: int = MIN_SONGS
) -> dict[str, datetime.date]:
    """Return the date of each artist's first show evaluated (artists with none left out)."""
    starts = {}
    for artist, shows in histories.items():
        targets = evaluation_targets(shows, last=last, min_songs=min_songs)
        if targets:
            starts[artist] = shows[targets[0]].date
    return starts


def _fitted(training, parameters, seconds: list[float]):
    """Return the classifier fitted on `training`, adding its fit time to `seconds[0]`."""
    started = time.perf_counter()
    classifier = fit(training, parameters)
    seconds[0] += time.perf_counter() - started
    return classifier


def backtest(
    shows: Iterable[PastShow],
    *,
    last: int = 200,
    parameters: Mapping | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> Backtest:
    """Fit on the shows before each artist's last `last` and score those, walk-forward."""
    started = time.perf_counter()
    histories = by_artist(shows)
    starts = evaluation_starts(histories, last=last)
    training = training_set(histories, before=starts)
    fit_seconds = [0.0]
    predictors = {MODEL: model_predictor(_fitted(training, parameters, fit_seconds)), **BASELINES}
    everything = [show for history in histories.values() for show in history]
    return Backtest(
        report=walk_forward(everything, predictors, last=last, progress=progress),
        windows=training.windows,
        evaluated_from=starts,
        fit_seconds=fit_seconds[0],
        seconds=time.perf_counter() - started,
    )


def backtest_unseen_artist(
    shows: Iterable[PastShow],
    *,
    last: int = 200,
    parameters: Mapping | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> Backtest:
    """Like `backtest`, but each artist is predicted by a model fitted on the other artists
    only (leave one artist out): how the model does on an artist it has never seen."""
    started = time.perf_counter()
    histories = by_artist(shows)
    starts = evaluation_starts(histories, last=last)
    if len(histories) < 2:
        raise ValueError("leaving an artist out needs at least two artists")
    windows: dict = {}
    fit_seconds = [0.0]

    def for_artist(history):
        artist = history[0].artist
        others = {a: h for a, h in histories.items() if a != artist}
        training = training_set(others, before=starts)
        windows.update({f"{artist} (without it): {a}": w for a, w in training.windows.items()})
        classifier = _fitted(training, parameters, fit_seconds)
        return model_predictor(classifier).for_artist(history)

    predictors = {MODEL: ArtistPredictor(for_artist), **BASELINES}
    everything = [show for history in histories.values() for show in history]
    return Backtest(
        report=walk_forward(everything, predictors, last=last, progress=progress),
        windows=windows,
        evaluated_from=starts,
        fit_seconds=fit_seconds[0],
        seconds=time.perf_counter() - started,
    )

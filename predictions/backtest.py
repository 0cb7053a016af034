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
from .evaluation import (
    MIN_SONGS,
    OVERALL,
    CalibrationBin,
    Report,
    Summary,
    evaluation_targets,
    walk_forward,
)
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
    fit_started = time.perf_counter()
    classifier = fit(training, parameters)
    fit_seconds = time.perf_counter() - fit_started
    predictors = {MODEL: model_predictor(classifier), **BASELINES}
    shows_list = [show for history in histories.values() for show in history]
    report = walk_forward(shows_list, predictors, last=last, progress=progress)
    return Backtest(
        report=report,
        windows=training.windows,
        evaluated_from=starts,
        fit_seconds=fit_seconds,
        seconds=time.perf_counter() - started,
    )


def _merged(reports: list[Report]) -> Report:
    """Return one report of several artists' reports (each artist in one of them)."""
    summaries: dict[str, dict[str, Summary]] = {}
    shows = {}
    for report in reports:
        summaries.update({a: s for a, s in report.summaries.items() if a != OVERALL})
        shows.update(report.shows)
    names = list(next(iter(summaries.values())).keys()) if summaries else []
    overall = {}
    for name in names:
        parts = [by_name[name] for by_name in summaries.values()]
        n = sum(p.shows for p in parts)
        overall[name] = Summary(
            shows=n,
            **{
                field: sum(getattr(p, field) * p.shows for p in parts) / n if n else 0.0
                for field in ("r_precision", "recall_at_25", "jaccard", "brier")
            },
        )
    summaries[OVERALL] = overall
    calibration = {}
    for name in names:
        bins: dict[tuple, list] = {}
        for report in reports:
            for b in report.calibration.get(name, ()):
                total = bins.setdefault((b.lower, b.upper), [0, 0.0, 0.0])
                total[0] += b.count
                total[1] += b.mean_predicted * b.count
                total[2] += b.observed * b.count
        calibration[name] = tuple(
            CalibrationBin(lower, upper, n, predicted / n, seen / n)
            for (lower, upper), (n, predicted, seen) in sorted(bins.items())
        )
    return Report(summaries=summaries, calibration=calibration, shows=shows)


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
    reports, windows, fit_seconds = [], {}, 0.0
    for artist, history in histories.items():
        others = {a: h for a, h in histories.items() if a != artist}
        training = training_set(others, before=starts)
        fit_started = time.perf_counter()
        classifier = fit(training, parameters)
        fit_seconds += time.perf_counter() - fit_started
        predictors = {MODEL: model_predictor(classifier), **BASELINES}
        reports.append(walk_forward(history, predictors, last=last, progress=progress))
        windows.update({f"{artist} (without it): {a}": w for a, w in training.windows.items()})
    return Backtest(
        report=_merged(reports),
        windows=windows,
        evaluated_from=starts,
        fit_seconds=fit_seconds,
        seconds=time.perf_counter() - started,
    )

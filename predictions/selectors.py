"""Reads of predictions: the active model, settings, a show's latest prediction, accuracy."""

from __future__ import annotations

from dataclasses import dataclass

from mysetlist.core.exceptions import NotFoundError
from mysetlist.setlists import selectors as setlists_selectors

from .model import loads
from .models import BacktestRun, ModelVersion, PredictionSettings, ShowPrediction

_classifiers: dict[int, object] = {}  # a process loads each model version once


def model_active_get() -> ModelVersion | None:
    return ModelVersion.objects.defer("blob").filter(is_active=True).first()


def model_classifier(*, version: ModelVersion):
    """Return the version's fitted classifier, loaded once per process."""
    if version.pk not in _classifiers:
        blob = ModelVersion.objects.values_list("blob", flat=True).get(pk=version.pk)
        _classifiers.clear()  # versions come one at a time: keep the latest only
        _classifiers[version.pk] = loads(bytes(blob))
    return _classifiers[version.pk]


def prediction_settings_get() -> PredictionSettings:
    current, _ = PredictionSettings.objects.get_or_create(pk=1)
    return current


def predictions_latest(*, show_ids: list[int]) -> dict[int, ShowPrediction]:
    """Return each show's latest prediction, in one query."""
    rows = (
        ShowPrediction.objects.filter(show_id__in=show_ids)
        .order_by("show_id", "-created_at", "-id")
        .distinct("show_id")
        if _distinct_on()
        else ShowPrediction.objects.filter(show_id__in=show_ids).order_by("-created_at", "-id")
    )
    latest: dict[int, ShowPrediction] = {}
    for prediction in rows:
        latest.setdefault(prediction.show_id, prediction)
    return latest


def _distinct_on() -> bool:
    from django.db import connection

    return connection.features.can_distinct_on_fields


def show_prediction_get(*, show_id: int) -> ShowPrediction | None:
    return predictions_latest(show_ids=[show_id]).get(show_id)


def shows_with_unscored_predictions() -> list[int]:
    """Return the shows whose predictions are not all scored yet and that have a setlist."""
    candidates = list(
        ShowPrediction.objects.filter(scored_at__isnull=True)
        .exclude(songs=[])
        .values_list("show_id", flat=True)
        .distinct()
    )
    return setlists_selectors.shows_with_setlist(show_ids=candidates)


_FIGURES = ("r_precision", "recall_at_25", "jaccard", "brier")


def prediction_accuracy() -> dict:
    """Return the running accuracy of scored predictions (each show's latest), overall and
    per artist: {"overall": {...}, "artists": {name: {...}}}, each with "shows"."""
    rows = list(
        ShowPrediction.objects.filter(scored_at__isnull=False)
        .order_by("show_id", "-created_at", "-id")
        .values_list("show_id", *_FIGURES)
    )
    latest = {}
    for show_id, *figures in rows:
        latest.setdefault(show_id, figures)
    names = setlists_selectors.shows_describe(show_ids=list(latest))
    groups: dict[str, list] = {}
    for show_id, figures in latest.items():
        groups.setdefault(names[show_id]["artist"], []).append(figures)

    def mean(items: list) -> dict:
        out = {"shows": len(items)}
        for i, name in enumerate(_FIGURES):
            out[name] = round(sum(f[i] for f in items) / len(items), 4) if items else None
        return out

    return {
        "overall": mean([f for items in groups.values() for f in items]),
        "artists": {name: mean(items) for name, items in sorted(groups.items())},
    }


def prediction_scored_list(*, limit: int = 200) -> list[dict]:
    """Return the latest scored predictions with their show's artist and date, newest show
    first."""
    predictions = list(
        ShowPrediction.objects.filter(scored_at__isnull=False)
        .defer("songs")
        .order_by("-scored_at", "-id")[:limit]
    )
    names = setlists_selectors.shows_describe(show_ids=[p.show_id for p in predictions])
    rows = [{"prediction": p, **names[p.show_id]} for p in predictions if p.show_id in names]
    return sorted(rows, key=lambda row: row["date"], reverse=True)


def backtest_run_list(*, limit: int = 20) -> list[BacktestRun]:
    return list(BacktestRun.objects.order_by("-created_at")[:limit])


def backtest_run_get(*, run_id: int) -> BacktestRun:
    try:
        return BacktestRun.objects.get(pk=run_id)
    except (BacktestRun.DoesNotExist, ValueError) as exc:
        raise NotFoundError("Backtest run not found.") from exc


@dataclass(frozen=True)
class PredictedSong:
    song_id: int
    title: str
    probability: float
    reason: str


@dataclass(frozen=True)
class PredictionView:
    """A show's latest prediction as pages and the API show it."""

    prediction: ShowPrediction
    songs: tuple[PredictedSong, ...]
    main_set: tuple[PredictedSong, ...]
    encore: tuple[PredictedSong, ...]


def prediction_view(*, prediction: ShowPrediction, limit: int = 50) -> PredictionView:
    """Return the prediction with its songs' titles: the `limit` most likely, and the
    predicted setlist in order."""
    ids = [s["song_id"] for s in prediction.songs[:limit]]
    ids += prediction.main_set + prediction.encore
    titles = setlists_selectors.song_titles(song_ids=ids)
    by_id = {
        s["song_id"]: PredictedSong(
            song_id=s["song_id"],
            title=titles.get(s["song_id"], "?"),
            probability=s["probability"],
            reason=s["reason"],
        )
        for s in prediction.songs
        if s["song_id"] in titles
    }
    return PredictionView(
        prediction=prediction,
        songs=tuple(by_id[i] for i in ids[:limit] if i in by_id),
        main_set=tuple(by_id[i] for i in prediction.main_set if i in by_id),
        encore=tuple(by_id[i] for i in prediction.encore if i in by_id),
    )

"""Reads of predictions: the active model, settings, a show's latest prediction, accuracy."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import sklearn
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from mysetlist.core import tiered_cache
from mysetlist.core.exceptions import NotFoundError
from mysetlist.setlists import selectors as setlists_selectors

from .model import loads
from .models import BacktestRun, ModelVersion, PredictionSettings, ShowPrediction
from .recommending import ArtistGraph, Recommendation, artists_recommend, fan_weights, graph_build

_classifiers: dict[int, object] = {}  # a process loads each model version once


def model_active_get() -> ModelVersion | None:
    return ModelVersion.objects.defer("blob").filter(is_active=True).first()


def model_classifier(*, version: ModelVersion):
    """Return the version's fitted classifier, loaded once per process. Raise ValueError
    for a model fitted with another scikit-learn, before reading its bytes."""
    loaded = _classifiers.get(version.pk)
    if loaded is None:
        if version.sklearn_version != sklearn.__version__:
            raise ValueError(
                f"model v{version.pk} needs scikit-learn {version.sklearn_version} "
                f"(installed: {sklearn.__version__})"
            )
        blob = ModelVersion.objects.values_list("blob", flat=True).get(pk=version.pk)
        loaded = loads(bytes(blob))
        _classifiers.clear()  # versions come one at a time: keep the latest only
        _classifiers[version.pk] = loaded
    return loaded


def prediction_settings_get() -> PredictionSettings:
    """Return the blend settings (the defaults until staff change them)."""
    return PredictionSettings.objects.filter(pk=1).first() or PredictionSettings(pk=1)


def predictions_of(*, show_ids: list[int]) -> dict[int, ShowPrediction]:
    """Return the shows' predictions, in one query."""
    return {p.show_id: p for p in ShowPrediction.objects.filter(show_id__in=show_ids)}


def show_prediction_get(*, show_id: int) -> ShowPrediction | None:
    return ShowPrediction.objects.filter(show_id=show_id).first()


def predictions_to_score(*, since) -> dict[int, ShowPrediction]:
    """Return, per show, the predictions with songs that are not scored yet or were
    made since `since` (their setlist may have been corrected)."""
    rows = ShowPrediction.objects.exclude(songs=[]).filter(
        Q(scored_at__isnull=True) | Q(generated_at__gte=since)
    )
    return {p.show_id: p for p in rows}


_FIGURES = ("r_precision", "recall_at_25", "jaccard", "brier")


def prediction_accuracy() -> dict:
    """Return the running accuracy of scored predictions, overall and per artist:
    {"overall": {...}, "artists": {name: {...}}}, each with "shows"."""
    latest = {
        show_id: figures
        for show_id, *figures in ShowPrediction.objects.filter(scored_at__isnull=False)
        .values_list("show_id", *_FIGURES)
        .iterator()
    }
    names = setlists_selectors.shows_describe(show_ids=list(latest))
    groups: dict[str, list] = {}
    for show_id, figures in latest.items():
        if show_id in names:
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
    """A show's prediction as pages and the API show it."""

    prediction: ShowPrediction
    songs: tuple[PredictedSong, ...]
    main_set: tuple[PredictedSong, ...]
    encore: tuple[PredictedSong, ...]


def prediction_view(*, prediction: ShowPrediction, limit: int = 50) -> PredictionView:
    """Return the prediction with its songs' titles: the `limit` most likely, and the
    predicted setlist in order."""
    top = [s["song_id"] for s in prediction.songs[:limit]]
    titles = setlists_selectors.song_titles(song_ids=top + prediction.main_set + prediction.encore)
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
        songs=tuple(by_id[i] for i in top if i in by_id),
        main_set=tuple(by_id[i] for i in prediction.main_set if i in by_id),
        encore=tuple(by_id[i] for i in prediction.encore if i in by_id),
    )


PREDICTION_SECONDS = 10 * 60  # a safety net: storing or scoring a prediction invalidates it


def prediction_namespace(show_id: int) -> str:
    """The cache namespace of a show's prediction as pages and the API show it."""
    return f"prediction:{show_id}"


def show_prediction_view_get(*, show_id: int) -> PredictionView | None:
    """Return the show's prediction with its songs' titles (None when it has none), from the
    tiered cache: the show page and the API read it on every visit."""

    def load() -> PredictionView | None:
        prediction = show_prediction_get(show_id=show_id)
        return None if prediction is None else prediction_view(prediction=prediction)

    return tiered_cache.cached(
        prediction_namespace(show_id), "view", ttl=PREDICTION_SECONDS, loader=load
    )


GRAPH_CACHE_KEY = "predictions:artist-graph:v1"
GRAPH_SECONDS = 15 * 60  # fans' follows move slowly: the graph is rebuilt every 15 minutes
TRENDING_DAYS = 7


def artist_graph_get() -> ArtistGraph:
    """Return the artist graph recommendations read, built at most every 15 minutes."""

    def build() -> ArtistGraph:
        since = timezone.now() - datetime.timedelta(days=TRENDING_DAYS)
        return graph_build(
            names=setlists_selectors.artist_names(),
            weights=fan_weights(
                setlists_selectors.follow_pairs(), setlists_selectors.voted_show_counts()
            ),
            catalogues=setlists_selectors.artist_catalogues(),
            recent_votes=setlists_selectors.artist_recent_votes(since=since),
        )

    return cache.get_or_set(GRAPH_CACHE_KEY, build, GRAPH_SECONDS)


@dataclass(frozen=True)
class ShowRecommendation:
    show: object  # a setlists Show, to read
    reason: str


@dataclass(frozen=True)
class Recommendations:
    strategy: str  # "collaborative" or "trending"
    artists: tuple[tuple[Recommendation, object], ...]  # with the setlists Artist, to read
    shows: tuple[ShowRecommendation, ...]


def recommendations_for(*, user_id: int, limit: int = 5) -> Recommendations:
    """Return artists and upcoming shows to recommend to a fan: collaborative filtering on
    follows and votes blended with repertoire, place and trending; trending alone for a fan
    with no follows or votes yet."""
    graph = artist_graph_get()
    followed = {artist for _, artist in setlists_selectors.follow_pairs(user_id=user_id)}
    mine = fan_weights(
        [(user_id, artist) for artist in followed],
        setlists_selectors.voted_show_counts(user_id=user_id),
    ).get(user_id, {})
    cities = setlists_selectors.user_cities(user_id=user_id)
    upcoming = setlists_selectors.shows_upcoming(today=timezone.localdate())
    nearby = {
        show.artist_id
        for show in upcoming
        if show.venue_id and show.venue.city and show.venue.city.casefold() in cities
    }
    strategy, artists = artists_recommend(graph, mine, nearby=nearby, limit=limit)
    picked = {r.artist_id: r for r in artists}
    since = timezone.now() - datetime.timedelta(days=TRENDING_DAYS)
    recent = setlists_selectors.show_recent_votes(
        show_ids=[show.pk for show in upcoming], since=since
    )
    scored = []
    for show in upcoming:
        in_city = bool(show.venue_id and show.venue.city and show.venue.city.casefold() in cities)
        if show.artist_id in followed:
            score, reason = 2.0, f"you follow {show.artist.name}"
        elif recent.get(show.pk) and strategy == "trending":
            votes = recent[show.pk]
            score = 0.5 + picked[show.artist_id].score if show.artist_id in picked else 0.5
            reason = f"trending: {votes} vote{'s' if votes != 1 else ''} this week"
        elif show.artist_id in picked:
            score, reason = 1.0 + picked[show.artist_id].score, picked[show.artist_id].reason
        else:
            continue
        if in_city:
            score, reason = score + 0.5, f"{reason}; in {show.venue.city}"
        scored.append((score + min(recent.get(show.pk, 0), 100) / 1000, show, reason))
    scored.sort(key=lambda item: (-item[0], item[1].date, item[1].pk))
    objects = {
        artist.pk: artist for artist in setlists_selectors.artist_list().filter(pk__in=list(picked))
    }
    return Recommendations(
        strategy=strategy,
        artists=tuple((r, objects[r.artist_id]) for r in artists if r.artist_id in objects),
        shows=tuple(ShowRecommendation(show=s, reason=r) for _, s, r in scored[:limit]),
    )


def recommendation_lines(*, user_id: int, limit: int = 3) -> list[str]:
    """Return the upcoming shows recommended to a fan as lines of text (for digests)."""
    found = recommendations_for(user_id=user_id, limit=limit)
    return [
        f"{s.show.artist.name}, {s.show.date:%d %b %Y}"
        f"{f' at {s.show.venue.name}' if s.show.venue_id else ''}: {s.reason}"
        for s in found.shows
    ]

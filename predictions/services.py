"""Writes of predictions: fitted models, show predictions and their scores, backtest runs."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Mapping

import sklearn
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from analytics import selectors as analytics_selectors
from mysetlist.core import tiered_cache
from mysetlist.core.exceptions import ApplicationError, ConflictError
from mysetlist.setlists import selectors as setlists_selectors
from mysetlist.setlists.public import ShowStatus
from mysetlist.users.models import User

from . import selectors
from .backtest import Backtest, backtest
from .baselines import Prediction
from .engagement import HORIZON_DAYS, LOOKBACK_DAYS, ActivityTable, churn_fit, fans_score
from .evaluation import show_score
from .features import FEATURES, ArtistHistory, Target
from .history import PastShow, PlayedSong
from .model import PARAMETERS, Blend, Forecaster, dumps, fit, training_set
from .models import (
    BacktestRun,
    ChurnModel,
    FanEngagement,
    ModelVersion,
    PredictionSettings,
    ShowPrediction,
)

logger = logging.getLogger(__name__)

KEEP_SONGS = 100  # songs stored per prediction, most likely first (the rest are all < 1 %)
UPCOMING = [ShowStatus.ANNOUNCED, ShowStatus.VOTING_OPEN]
OVER = [ShowStatus.LOCKED, ShowStatus.COMPLETED]


def _past_shows(artist: str, played) -> tuple[list[PastShow], dict[str, int]]:
    """Return the played shows as PastShows and each case-folded title's song id."""
    ids: dict[str, int] = {}
    shows = []
    for show in played:
        songs = []
        for song_id, title, marker in show.songs:
            folded = title.casefold()
            ids.setdefault(folded, song_id)
            songs.append(PlayedSong(title=folded, set=marker))
        shows.append(
            PastShow(
                artist=artist, date=show.date, venue=show.venue, city=show.city,
                tour=show.tour, songs=tuple(songs),
            )
        )  # fmt: skip
    return shows, ids


def imported_histories() -> dict[str, list[PastShow]]:
    """Return every artist's shows with setlists, as the backtest and the fit read them."""
    histories = {}
    for artist in setlists_selectors.artist_list():
        played = setlists_selectors.artist_played_shows(artist_id=artist.pk)
        if played:
            histories[artist.name] = _past_shows(artist.name, played)[0]
    return histories


def _summaries_json(summaries) -> dict:
    return {
        artist: {
            name: {
                "shows": s.shows,
                "r_precision": round(s.r_precision, 4),
                "recall_at_25": round(s.recall_at_25, 4),
                "jaccard": round(s.jaccard, 4),
                "brier": round(s.brier, 5),
            }
            for name, s in by_name.items()
        }
        for artist, by_name in summaries.items()
    }


def _windows_json(windows) -> dict:
    return {
        artist: {"first": first.isoformat(), "last": last.isoformat(), "shows": shows}
        for artist, (first, last, shows) in windows.items()
    }


def backtest_run_create(*, result: Backtest, source: str, last: int) -> BacktestRun:
    """Store a backtest's figures: summaries, calibration, each show's R-precision."""
    calibration = {
        name: [
            [b.lower, b.upper, b.count, round(b.mean_predicted, 4), round(b.observed, 4)]
            for b in bins
        ]
        for name, bins in result.report.calibration.items()
    }
    shows = [
        [artist, date.isoformat(), {name: round(value, 4) for name, value in scores.items()}]
        for artist, rows in result.report.shows.items()
        for date, scores in rows
    ]
    run = BacktestRun(
        source=source[:300],
        last=last,
        summaries=_summaries_json(result.report.summaries),
        calibration=calibration,
        shows=shows,
        training_window=_windows_json(result.windows),
        seconds=round(result.seconds, 2),
        fit_seconds=round(result.fit_seconds, 2),
    )
    run.full_clean()
    run.save()
    return run


@transaction.atomic
def model_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the model every new prediction uses."""
    ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.save(update_fields=["is_active"])
    return version


def model_fit(
    *,
    histories: Mapping[str, list[PastShow]],
    user: User | None = None,
    last: int = 200,
    activate: bool = True,
    progress: Callable[[int], None] = lambda n: None,
) -> ModelVersion:
    """Evaluate the recipe (fit before each artist's last `last` shows, score those), then
    fit on every show and store the model with its training window and that evaluation."""
    if not histories:
        raise ApplicationError("No setlists to learn from: import some first.")
    try:
        evaluation = backtest(
            [show for shows in histories.values() for show in shows], last=last, progress=progress
        )
        training = training_set(histories)
    except ValueError as error:
        raise ApplicationError(f"Cannot fit a model: {error}.") from error
    started = time.perf_counter()
    classifier = fit(training)
    version = ModelVersion(
        created_by=user,
        features=list(FEATURES),
        parameters=dict(PARAMETERS),
        training_window=_windows_json(training.windows),
        evaluation={
            "last": last,
            "summaries": _summaries_json(evaluation.report.summaries),
            "evaluated_from": {a: d.isoformat() for a, d in evaluation.evaluated_from.items()},
        },
        sklearn_version=sklearn.__version__,
        rows=len(training.y),
        fit_seconds=round(time.perf_counter() - started, 2),
        blob=dumps(classifier),
    )
    version.full_clean(exclude=["blob"])
    version.save()
    if activate:
        model_activate(version=version)
    return version


@transaction.atomic
def prediction_settings_update(
    *, user: User, vote_weight: float | None = None, min_history: int | None = None
) -> PredictionSettings:
    """Change the blend settings given (the others stay); every upcoming show is predicted
    again within a minute."""
    current = PredictionSettings.objects.select_for_update().get_or_create(pk=1)[0]
    data = {"vote_weight": vote_weight, "min_history": min_history}
    fields = [name for name, value in data.items() if value is not None]
    for name in fields:
        setattr(current, name, data[name])
    current.updated_by = user
    current.full_clean()
    current.save(update_fields=[*fields, "updated_by", "updated_at"])
    return current


def _target(show) -> Target:
    venue = show.venue if show.venue_id else None
    return Target(
        date=show.date,
        venue=venue.name if venue else None,
        city=(venue.city or None) if venue else None,
        tour=show.tour.name if show.tour_id else None,
    )


def prediction_upcoming(*, show, now: datetime.datetime | None = None) -> bool:
    """Return whether a show may still be predicted: announced or open for votes, and its
    day not begun where it is played (from then on its prediction is frozen, so that what
    is scored was made before the show)."""
    now = now or timezone.now()
    return show.status in UPCOMING and now < setlists_selectors.show_day_starts_at(show=show)


def _classifier(version: ModelVersion):
    """Return the version's classifier, or None when it cannot be loaded (logged)."""
    try:
        return selectors.model_classifier(version=version)
    except Exception:  # an unreadable model must not take predictions down: note it
        logger.exception("prediction model v%s cannot be loaded", version.pk)
        return None


def prediction_generate(
    *,
    show_id: int,
    now: datetime.datetime | None = None,
    played: list | None = None,
) -> ShowPrediction:
    """Predict a show's setlist from its artist's earlier shows, the active model and the
    fans' votes; store it as the show's one prediction and return it (with a note in place
    of songs when the model or the history is missing). `played` is the artist's shows
    with setlists, when the caller has them. Raise ConflictError once the show's day has
    begun."""
    show = setlists_selectors.show_get(show_id=show_id)
    now = now or timezone.now()
    if not prediction_upcoming(show=show, now=now):
        raise ConflictError(
            "This show is under way or over: its prediction was frozen when its day began."
        )
    current = selectors.prediction_settings_get()
    version = selectors.model_active_get()
    if played is None:
        played = setlists_selectors.artist_played_shows(artist_id=show.artist_id)
    shows, ids = _past_shows(show.artist.name, [p for p in played if p.date < show.date])
    values = {
        "model_version": version,
        "generated_at": now,
        "votes_version": setlists_selectors.shows_votes_version(show_ids=[show.pk]).get(show.pk, 0),
        "settings_at": current.updated_at,
        "history_shows": len(shows),
        "expected_length": 0,
        "note": "",
        "songs": [],
        "main_set": [],
        "encore": [],
    }
    classifier = _classifier(version) if version is not None else None
    if version is None:
        values["note"] = "no model has been fitted yet"
    elif classifier is None:
        values["note"] = "the model cannot be loaded: fit it again (manage.py fit_predictions)"
    else:
        scores = setlists_selectors.show_vote_scores(show_id=show.pk)
        titles = {song_id: title for title, song_id in ids.items()}
        votes = {titles[song_id]: score for song_id, score in scores.items() if song_id in titles}
        forecaster = Forecaster(
            classifier=classifier,
            history=ArtistHistory(shows),
            blend=Blend(vote_weight=current.vote_weight, min_history=current.min_history),
        )
        forecast = forecaster.forecast(len(shows), _target(show), votes=votes)
        values["note"] = forecast.note
        values["expected_length"] = forecast.expected_length
        values["songs"] = [
            {"song_id": ids[s.title], "probability": s.probability, "reason": s.reason}
            for s in forecast.songs[:KEEP_SONGS]
        ]
        values["main_set"] = [ids[title] for title in forecast.main_set]
        values["encore"] = [ids[title] for title in forecast.encore]
    ShowPrediction(show=show, **values).full_clean(exclude=["show"])
    prediction, _ = ShowPrediction.objects.update_or_create(show=show, defaults=values)
    tiered_cache.invalidate_on_commit(selectors.prediction_namespace(show.pk))
    return prediction


def _stale(prediction: ShowPrediction | None, version, votes_version: int, settings_at) -> bool:
    if prediction is None:
        return True
    return (
        prediction.model_version_id != (version.pk if version else None)
        or prediction.votes_version != votes_version
        or prediction.settings_at != settings_at
    )


REFRESH_LOCK = "predictions:refresh-running"


def predictions_refresh(*, now: datetime.datetime | None = None, limit: int = 500) -> list[int]:
    """Predict again each upcoming show whose votes, model or settings changed since its
    prediction (or that has none); return their ids. Beat runs this each minute, so a
    burst of votes costs one prediction a minute per show; a run still going when the next
    is due makes the next one return at once. Each artist's history is read once."""
    now = now or timezone.now()
    if not cache.add(REFRESH_LOCK, 1, timeout=600):
        return []
    try:
        upcoming = [
            show
            for show in setlists_selectors.shows_upcoming(
                today=now.date() - datetime.timedelta(days=1), limit=limit
            )
            if prediction_upcoming(show=show, now=now)
        ]
        ids = [show.pk for show in upcoming]
        latest = selectors.predictions_of(show_ids=ids)
        versions = setlists_selectors.shows_votes_version(show_ids=ids)
        version = selectors.model_active_get()
        settings_at = selectors.prediction_settings_get().updated_at
        stale = [
            show
            for show in upcoming
            if _stale(latest.get(show.pk), version, versions.get(show.pk, 0), settings_at)
        ]
        histories: dict[int, list] = {}
        for show in stale:
            if show.artist_id not in histories:
                histories[show.artist_id] = setlists_selectors.artist_played_shows(
                    artist_id=show.artist_id
                )
            prediction_generate(show_id=show.pk, now=now, played=histories[show.artist_id])
        return [show.pk for show in stale]
    finally:
        cache.delete(REFRESH_LOCK)


def prediction_score(*, prediction: ShowPrediction, setlist: list[int]) -> ShowPrediction:
    """Score a prediction against its show's real setlist (song ids); return it."""
    played = {str(song_id) for song_id in setlist}
    ranked = [str(song["song_id"]) for song in prediction.songs]
    probabilities = {str(song["song_id"]): song["probability"] for song in prediction.songs}
    score = show_score(Prediction(tuple(ranked), probabilities), played, ranked)
    prediction.r_precision = round(score.r_precision, 4)
    prediction.recall_at_25 = round(score.recall_at_25, 4)
    prediction.jaccard = round(score.jaccard, 4)
    prediction.brier = round(score.brier, 5)
    prediction.scored_at = timezone.now()
    prediction.scored_setlist = sorted(setlist)
    prediction.save(
        update_fields=[
            "r_precision", "recall_at_25", "jaccard", "brier", "scored_at", "scored_setlist",
        ]
    )  # fmt: skip
    tiered_cache.invalidate_on_commit(selectors.prediction_namespace(prediction.show_id))
    return prediction


RESCORE_DAYS = 60  # a setlist corrected in admin within this long is scored again


def predictions_score_pending(*, now: datetime.datetime | None = None) -> list[int]:
    """Score the prediction of every show that is over (locked or completed) and has a
    setlist, when it is not scored yet or its setlist changed since; return the show ids."""
    now = now or timezone.now()
    candidates = selectors.predictions_to_score(since=now - datetime.timedelta(days=RESCORE_DAYS))
    shows = setlists_selectors.shows_describe(show_ids=list(candidates))
    over = [pk for pk, show in shows.items() if show["status"] in OVER]
    setlists = setlists_selectors.shows_setlist_song_ids(show_ids=over)
    scored = []
    for show_id, setlist in sorted(setlists.items()):
        prediction = candidates[show_id]
        if prediction.scored_at is None or prediction.scored_setlist != sorted(setlist):
            prediction_score(prediction=prediction, setlist=setlist)
            scored.append(show_id)
    return scored


def prediction_ensure(*, show_id: int) -> ShowPrediction | None:
    """Return the show's prediction; make one first if an upcoming show has none (beat
    makes them ahead; this covers a show announced since). A show whose day has begun
    without one stays without: a prediction is only ever made before the show."""
    prediction = selectors.show_prediction_get(show_id=show_id)
    if prediction is not None:
        return prediction
    show = setlists_selectors.show_get(show_id=show_id)
    if not prediction_upcoming(show=show):
        return None
    return prediction_generate(show_id=show.pk)


def engagement_refresh(*, today: datetime.date | None = None) -> ChurnModel:
    """Fit the churn model on the fans' daily activity (time split, AUC on the later date),
    store it, and score every fan active in the last 90 days with it."""
    today = today or timezone.localdate()
    start = today - datetime.timedelta(days=2 * HORIZON_DAYS + LOOKBACK_DAYS + 400)
    table = ActivityTable(analytics_selectors.account_daily_activity(start=start, end=today))
    try:
        fitted = churn_fit(table, today)
    except ValueError as error:
        raise ApplicationError(f"Cannot fit the churn model: {error}.") from error
    model = ChurnModel(
        horizon_days=HORIZON_DAYS,
        fitted_as_of=fitted.fitted_as_of,
        evaluated_as_of=fitted.evaluated_as_of,
        fitted_users=fitted.fitted_users,
        evaluated_users=fitted.evaluated_users,
        auc=fitted.auc,
        churn_rate=round(fitted.churn_rate, 4),
        weights=fitted.weights,
        intercept=fitted.intercept,
    )
    model.full_clean()
    scores = fans_score(table, fitted, today)
    now = timezone.now()
    with transaction.atomic():
        model.save()
        FanEngagement.objects.exclude(user_id__in=[s.user_id for s in scores]).delete()
        FanEngagement.objects.bulk_create(
            [
                FanEngagement(
                    user_id=s.user_id, engagement=s.engagement, churn_risk=s.churn_risk,
                    days_since_active=s.days_since_active, model=model, computed_at=now,
                )
                for s in scores
            ],
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["engagement", "churn_risk", "days_since_active", "model", "computed_at"],
        )  # fmt: skip
    return model

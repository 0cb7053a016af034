"""Writes of predictions: fitted models, show predictions and their scores, backtest runs."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping

import sklearn
from django.db import transaction
from django.utils import timezone

from analytics import selectors as analytics_selectors
from mysetlist.core.exceptions import ApplicationError
from mysetlist.setlists import selectors as setlists_selectors
from mysetlist.setlists.public import ShowStatus
from mysetlist.users.models import User

from . import selectors
from .backtest import Backtest, backtest
from .baselines import Prediction
from .engagement import HORIZON_DAYS, LOOKBACK_DAYS, ActivityTable, Day, churn_fit, fans_score
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

KEEP_SONGS = 100  # songs stored per prediction, most likely first (the rest are all < 1 %)
UPCOMING = [ShowStatus.ANNOUNCED, ShowStatus.VOTING_OPEN]


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


def prediction_settings_update(*, user: User, data: dict) -> PredictionSettings:
    current = selectors.prediction_settings_get()
    fields = [name for name in ("vote_weight", "min_history") if name in data]
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


def prediction_generate(*, show_id: int) -> ShowPrediction:
    """Predict a show's setlist from its artist's earlier shows, the active model and the
    fans' votes; store and return the prediction (with a note in place of songs when the
    model or the history is missing)."""
    show = setlists_selectors.show_get(show_id=show_id)
    current = selectors.prediction_settings_get()
    version = selectors.model_active_get()
    played = setlists_selectors.artist_played_shows(artist_id=show.artist_id, before=show.date)
    shows, ids = _past_shows(show.artist.name, played)
    votes_version = setlists_selectors.shows_votes_version(show_ids=[show.pk]).get(show.pk, 0)
    prediction = ShowPrediction(
        show=show,
        model_version=version,
        votes_version=votes_version,
        settings_at=current.updated_at,
        history_shows=len(shows),
    )
    if version is None:
        prediction.note = "no model has been fitted yet"
    else:
        scores = setlists_selectors.show_vote_scores(show_id=show.pk)
        titles = {song_id: title for title, song_id in ids.items()}
        votes = {titles[song_id]: score for song_id, score in scores.items() if song_id in titles}
        forecaster = Forecaster(
            classifier=selectors.model_classifier(version=version),
            history=ArtistHistory(shows),
            blend=Blend(vote_weight=current.vote_weight, min_history=current.min_history),
        )
        forecast = forecaster.forecast(len(shows), _target(show), votes=votes)
        prediction.note = forecast.note
        prediction.expected_length = forecast.expected_length
        prediction.songs = [
            {"song_id": ids[s.title], "probability": s.probability, "reason": s.reason}
            for s in forecast.songs[:KEEP_SONGS]
        ]
        prediction.main_set = [ids[title] for title in forecast.main_set]
        prediction.encore = [ids[title] for title in forecast.encore]
    prediction.full_clean()
    prediction.save()
    return prediction


def _stale(prediction: ShowPrediction | None, version, votes_version: int, settings_at) -> bool:
    if prediction is None:
        return True
    return (
        prediction.model_version_id != (version.pk if version else None)
        or prediction.votes_version != votes_version
        or prediction.settings_at != settings_at
    )


def predictions_refresh(*, today: datetime.date | None = None, limit: int = 500) -> list[int]:
    """Predict again each upcoming show whose votes, model or settings changed since its
    latest prediction (or that has none); return their ids. Beat runs this each minute, so
    a burst of votes costs one prediction a minute per show."""
    today = today or timezone.localdate()
    upcoming = [
        show.pk
        for show in setlists_selectors.show_list(filters={"status": UPCOMING}).filter(
            date__gte=today
        )[:limit]
    ]
    latest = selectors.predictions_latest(show_ids=upcoming)
    versions = setlists_selectors.shows_votes_version(show_ids=upcoming)
    version = selectors.model_active_get()
    settings_at = selectors.prediction_settings_get().updated_at
    stale = [
        pk for pk in upcoming if _stale(latest.get(pk), version, versions.get(pk, 0), settings_at)
    ]
    for pk in stale:
        prediction_generate(show_id=pk)
    return stale


def prediction_score(*, show_id: int) -> ShowPrediction | None:
    """Score the show's latest prediction against its real setlist; return it (None when
    the show has no prediction or no setlist yet)."""
    prediction = selectors.predictions_latest(show_ids=[show_id]).get(show_id)
    if prediction is None or not prediction.songs:
        return None
    show = setlists_selectors.show_get(show_id=show_id)
    played = {str(entry.song_id) for entry in setlists_selectors.setlist_get(show=show)}
    if not played:
        return None
    ranked = [str(song["song_id"]) for song in prediction.songs]
    probabilities = {str(song["song_id"]): song["probability"] for song in prediction.songs}
    score = show_score(Prediction(tuple(ranked), probabilities), played, ranked)
    prediction.r_precision = round(score.r_precision, 4)
    prediction.recall_at_25 = round(score.recall_at_25, 4)
    prediction.jaccard = round(score.jaccard, 4)
    prediction.brier = round(score.brier, 5)
    prediction.scored_at = timezone.now()
    prediction.save(update_fields=["r_precision", "recall_at_25", "jaccard", "brier", "scored_at"])
    return prediction


def predictions_score_pending() -> list[int]:
    """Score the latest prediction of every show whose setlist arrived since; return the
    ids of the shows scored."""
    scored = []
    for show_id in selectors.shows_with_unscored_predictions():
        if prediction_score(show_id=show_id) is not None:
            scored.append(show_id)
    return scored


def predictions_score_on_commit(*, show_ids: list[int]) -> None:
    """Score these shows' predictions once the transaction that wrote their setlists commits
    (the importer calls this; setlists entered in admin are scored by beat)."""
    if not show_ids:
        return
    from .tasks import predictions_score_shows

    ids = list(show_ids)
    transaction.on_commit(lambda: predictions_score_shows.delay(ids))


def prediction_ensure(*, show_id: int) -> ShowPrediction | None:
    """Return the show's latest prediction; make one first if an upcoming show has none
    (beat makes them ahead; this covers a show announced since). A past show without one
    stays without: a prediction is only ever made before the show."""
    prediction = selectors.show_prediction_get(show_id=show_id)
    if prediction is not None:
        return prediction
    show = setlists_selectors.show_get(show_id=show_id)
    if show.status not in UPCOMING:
        return None
    return prediction_generate(show_id=show.pk)


def engagement_refresh(*, today: datetime.date | None = None) -> ChurnModel:
    """Fit the churn model on the fans' daily activity (time split, AUC on the later date),
    store it, and score every fan active in the last 90 days with it."""
    today = today or timezone.localdate()
    start = today - datetime.timedelta(days=2 * HORIZON_DAYS + LOOKBACK_DAYS + 400)
    days = [
        Day(r.user_id, r.day, r.events, r.pageviews, r.votes)
        for r in analytics_selectors.account_daily_activity(start=start, end=today)
    ]
    table = ActivityTable(days)
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

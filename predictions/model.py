"""The setlist model: one gradient-boosted classifier for every artist, fitted on past shows.

Pure: numpy and scikit-learn, no Django. A training row is one song the artist had played
before a show, described by `features.FEATURES` from the shows before it; its label is
whether the show played it. The classifier's probability is the song's chance of being
played; a fan-vote blend (not learned: the history holds no votes) moves it on the logit
scale, by a weight staff set.
"""

from __future__ import annotations

import datetime
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

from .baselines import Prediction
from .evaluation import ArtistPredictor
from .features import FEATURES, ArtistHistory, Target
from .history import PastShow

MIN_SONGS = 8  # shows with fewer songs (soundchecks, guest spots) are not learned from
MIN_HISTORY = 5  # fewer earlier shows than this: "not enough history"
TRAIN_SHOWS = 1000  # the latest shows of each artist before the window are learned from
RECENCY_HALF_LIFE = 250  # in shows: a training show's weight halves per this many shows back
RARE_KEEP = 0.1  # share kept of the rows of songs not played in the last 100 shows

# Fixed, not searched per artist: the same parameters serve every artist.
PARAMETERS = {
    "max_iter": 200,
    "learning_rate": 0.08,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "random_state": 0,
}


@dataclass(frozen=True)
class TrainingSet:
    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray  # recency, and the inverse of the rare rows' sampling rate
    windows: dict[str, tuple[datetime.date, datetime.date, int]]  # artist -> first, last, shows


def training_set(
    histories: Mapping[str, Sequence[PastShow]],
    before: Mapping[str, datetime.date] | None = None,
    *,
    shows_per_artist: int = TRAIN_SHOWS,
    min_songs: int = MIN_SONGS,
) -> TrainingSet:
    """Return the rows of each artist's latest `shows_per_artist` shows dated before
    `before[artist]` (all shows when absent), each from the shows before it only.

    Older shows weigh less (RECENCY_HALF_LIFE). Songs not played in the last 100 shows make
    most rows and are seldom played: a fixed random RARE_KEEP of them is kept, weighted by
    its inverse so the probabilities stay unbiased."""
    xs, ys, ws, windows = [], [], [], {}
    random = np.random.default_rng(0)
    rare = FEATURES.index("share100")
    for artist, shows in histories.items():
        history = ArtistHistory(shows)
        limit = history.cutoff(before[artist]) if before and artist in before else len(shows)
        chosen = []
        for index in range(limit):
            show = shows[index]
            cutoff = history.cutoff(show.date)
            if len(show.titles) >= min_songs and cutoff >= MIN_HISTORY:
                chosen.append((index, cutoff))
        chosen = chosen[-shows_per_artist:]
        for back, (index, cutoff) in enumerate(reversed(chosen)):
            show = shows[index]
            columns, x = history.features(cutoff, target_of(show))
            played = {history.song_index[t] for t in show.titles}
            y = np.fromiter((c in played for c in columns), dtype=bool, count=len(columns))
            w = np.full(len(columns), 0.5 ** (back / RECENCY_HALF_LIFE))
            low = x[:, rare] == 0
            keep = ~low | (random.random(len(columns)) < RARE_KEEP)
            w[low] /= RARE_KEEP
            xs.append(x[keep])
            ys.append(y[keep])
            ws.append(w[keep])
        if chosen:
            first, last = shows[chosen[0][0]].date, shows[chosen[-1][0]].date
            windows[artist] = (first, last, len(chosen))
    if not xs:
        raise ValueError("no show has enough history to learn from")
    weights = np.concatenate(ws)
    weights /= weights.mean()
    return TrainingSet(x=np.concatenate(xs), y=np.concatenate(ys), weights=weights, windows=windows)


def fit(training: TrainingSet, parameters: Mapping | None = None) -> HistGradientBoostingClassifier:
    """Return the classifier fitted on the training rows."""
    classifier = HistGradientBoostingClassifier(**{**PARAMETERS, **(parameters or {})})
    classifier.fit(training.x, training.y, sample_weight=training.weights)
    return classifier


def dumps(classifier: HistGradientBoostingClassifier) -> bytes:
    buffer = io.BytesIO()
    joblib.dump({"sklearn": sklearn.__version__, "features": FEATURES, "model": classifier}, buffer)
    return buffer.getvalue()


def loads(blob: bytes) -> HistGradientBoostingClassifier:
    """Return a classifier stored by `dumps`; refuse one of other features or scikit-learn."""
    stored = joblib.load(io.BytesIO(blob))
    if stored["features"] != FEATURES:
        raise ValueError("the stored model was fitted on other features; fit it again")
    if stored["sklearn"] != sklearn.__version__:
        raise ValueError(
            f"the stored model needs scikit-learn {stored['sklearn']} "
            f"(installed: {sklearn.__version__}); fit it again"
        )
    return stored["model"]


def target_of(show: PastShow) -> Target:
    return Target(date=show.date, venue=show.venue, city=show.city, tour=show.tour)


@dataclass(frozen=True)
class Blend:
    """Settings staff may change without refitting."""

    vote_weight: float = 1.0  # logit added for the most voted song; others in proportion
    min_history: int = MIN_HISTORY


def blend_votes(probabilities: np.ndarray, votes: np.ndarray, weight: float) -> np.ndarray:
    """Return the probabilities moved on the logit scale by `weight` times each song's net
    votes over the largest net vote in either direction: +weight for the most wanted song,
    -weight at most for the most unwanted (no votes: unchanged)."""
    scale = np.abs(votes).max() if len(votes) else 0
    if not scale or not weight:
        return probabilities
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    logits = np.log(clipped / (1 - clipped)) + weight * votes / scale
    return 1 / (1 + np.exp(-logits))


@dataclass(frozen=True)
class SongForecast:
    title: str
    probability: float
    reason: str
    position: float  # the song's usual place in a show, 0 first and 1 last
    encore_rate: float


@dataclass(frozen=True)
class Forecast:
    songs: tuple[SongForecast, ...]  # every song the artist had played, most likely first
    expected_length: int
    main_set: tuple[str, ...]
    encore: tuple[str, ...]
    history_shows: int
    note: str = ""  # why there is no forecast, when there is none

    def prediction(self) -> Prediction:
        return Prediction(
            ranking=tuple(song.title for song in self.songs),
            probabilities={song.title: song.probability for song in self.songs},
        )


@dataclass
class Forecaster:
    """Forecasts shows of one artist from its history with a fitted classifier."""

    classifier: HistGradientBoostingClassifier
    history: ArtistHistory
    blend: Blend = field(default_factory=Blend)

    def forecast(
        self, cutoff: int, target: Target, votes: Mapping[str, int] | None = None
    ) -> Forecast:
        """Return the forecast of a show from the artist's shows before `cutoff`."""
        if cutoff < self.blend.min_history:
            return Forecast(
                songs=(), expected_length=0, main_set=(), encore=(), history_shows=cutoff,
                note=f"not enough history: {cutoff} earlier "
                f"show{'s' if cutoff != 1 else ''}, at least {self.blend.min_history} needed",
            )  # fmt: skip
        columns, x = self.history.features(cutoff, target)
        probabilities = self.classifier.predict_proba(x)[:, 1]
        titles = [self.history.songs[c] for c in columns]
        vote_counts = np.array([(votes or {}).get(t, 0) for t in titles], dtype=np.float64)
        probabilities = blend_votes(probabilities, vote_counts, self.blend.vote_weight)
        reasons = song_reasons(self.history, cutoff, target, columns, x, vote_counts)
        positions = self.history.mean_position(cutoff, columns)
        encore_rates = x[:, FEATURES.index("encore_rate")]
        order = np.lexsort((titles, -probabilities))
        songs = tuple(
            SongForecast(
                title=titles[i],
                probability=round(float(probabilities[i]), 4),
                reason=reasons[i],
                position=round(float(positions[i]), 3),
                encore_rate=round(float(encore_rates[i]), 3),
            )
            for i in order
        )
        length = round(self.history.expected_length(cutoff))
        main_set, encore = ordered_setlist(songs[:length], self.encore_length(cutoff))
        return Forecast(
            songs=songs,
            expected_length=length,
            main_set=main_set,
            encore=encore,
            history_shows=cutoff,
        )

    def encore_length(self, cutoff: int, window: int = 10) -> int:
        """Return the median encore length of the last shows (0 where the shows before
        `cutoff` mark no encores)."""
        recent = self.history.encore_lengths[max(cutoff - window, 0) : cutoff]
        return int(np.median(recent)) if len(recent) else 0


def ordered_setlist(songs: Sequence[SongForecast], encore_length: int) -> tuple[tuple, tuple]:
    """Split the chosen songs into a main set and an encore, each in its usual order: the
    `encore_length` songs most often played in encores (if they ever were) close the show."""
    by_encore = sorted(songs, key=lambda s: (-s.encore_rate, -s.probability, s.title))
    encore = [s for s in by_encore[:encore_length] if s.encore_rate > 0]
    chosen = {s.title for s in encore}
    main = [s for s in songs if s.title not in chosen]

    def in_order(items):
        return tuple(s.title for s in sorted(items, key=lambda s: (s.position, s.title)))

    return in_order(main), in_order(encore)


def _shows(n: float) -> str:
    n = int(round(n))
    return f"{n} show{'s' if n != 1 else ''}"


def song_reasons(
    history: ArtistHistory,
    cutoff: int,
    target: Target,
    columns: np.ndarray,
    x: np.ndarray,
    votes: np.ndarray,
) -> list[str]:
    """Return a plain-language reason per song from its most telling features."""
    f = {name: x[:, i] for i, name in enumerate(FEATURES)}
    tour = history.tour_rows(cutoff, target)[-10:]
    tour_counts = history.played[np.ix_(tour, columns)].sum(axis=0) if tour else None
    recent = min(cutoff, 10)
    recent_counts = history.played[cutoff - recent : cutoff][:, columns].sum(axis=0)
    top_vote = votes.max() if len(votes) else 0
    vote_rank = {i: r + 1 for r, i in enumerate(np.argsort(-votes, kind="stable")) if votes[i] > 0}
    reasons = []
    for i in range(len(columns)):
        gap = int(round(math.expm1(f["gap"][i])))
        usual = math.expm1(f["usual_gap"][i])
        parts = []
        if top_vote and i in vote_rank and vote_rank[i] <= 10:
            parts.append(f"fans voted it #{vote_rank[i]} for this show")
        if f["run_played"][i]:
            parts.append("already played earlier in this run in town")
        if tour_counts is not None and len(tour) >= 3 and tour_counts[i]:
            last = _shows(len(tour))
            parts.append(f"played at {int(tour_counts[i])} of the last {last} on this tour")
        elif recent_counts[i]:
            parts.append(f"played at {int(recent_counts[i])} of the last {_shows(recent)}")
        if gap >= 3 and usual >= 1:
            if gap > 3 * usual and gap >= 50:
                parts.append(f"not played in {_shows(gap)}, usually every {usual:.0f}: retired?")
            elif gap >= usual:
                parts.append(f"not played in {_shows(gap)}, usually every {usual:.0f}: due")
            else:
                parts.append(f"last played {_shows(gap)} ago, usually every {usual:.0f}")
        if math.expm1(f["age"][i]) <= 10:
            parts.append(f"new: debuted {_shows(math.expm1(f['age'][i]))} ago")
        if f["venue_shows"][i] and f["venue_share"][i] >= 0.5:
            shows_here = int(round(math.expm1(f["venue_shows"][i])))
            share = f["venue_share"][i]
            parts.append(f"played at {share:.0%} of {_shows(shows_here)} at this venue")
        reasons.append("; ".join(parts[:2]) or "rarely played")
    return reasons


def model_predictor(
    classifier: HistGradientBoostingClassifier, blend: Blend | None = None
) -> ArtistPredictor:
    """Return a backtest predictor (see evaluation.walk_forward) of the classifier."""

    def for_artist(shows: Sequence[PastShow]):
        forecaster = Forecaster(
            classifier=classifier, history=ArtistHistory(shows), blend=blend or Blend()
        )

        def predict(cutoff: int, target: PastShow) -> Prediction:
            return forecaster.forecast(cutoff, target_of(target)).prediction()

        return predict

    return ArtistPredictor(for_artist)

"""Artists and shows to recommend to a fan. Pure: numpy, scipy and scikit-learn, no Django.

Item-item collaborative filtering: an artist is described by the fans who follow it or vote
on its shows, and two artists are alike as those fans overlap (cosine similarity). A fan's
score for an artist blends its likeness to the artists the fan already has, the likeness of
their repertoires (songs in common), whether it plays where the fan goes, and what is
trending. A fan with nothing yet gets what is trending (the cold start).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.metrics.pairwise import cosine_similarity

FOLLOW_WEIGHT = 1.0
SHOW_VOTED_WEIGHT = 0.5  # per show of the artist voted on, up to VOTED_CAP
VOTED_CAP = 2.0
MIN_COMMON_FANS = 3  # a reason names another artist only when this many fans share both


@dataclass(frozen=True)
class Blend:
    """How the signals add up; fixed, not tuned per artist."""

    fans: float = 1.0  # collaborative filtering
    repertoire: float = 0.5
    place: float = 0.3
    trending: float = 0.1


@dataclass(frozen=True)
class ArtistGraph:
    """Artists and how alike they are, built once for every fan."""

    artists: tuple[int, ...]
    names: dict[int, str]
    fans: np.ndarray  # artists x artists, cosine of their fans, diagonal 0
    common: np.ndarray  # artists x artists, how many fans they share
    repertoire: np.ndarray  # artists x artists, Jaccard of their song titles, diagonal 0
    trending: dict[int, float]  # artist -> recent votes, scaled to [0, 1]

    def index(self, artist_id: int) -> int | None:
        try:
            return self.artists.index(artist_id)
        except ValueError:
            return None


@dataclass(frozen=True)
class Recommendation:
    artist_id: int
    score: float
    reason: str


def fan_weights(follows: Iterable[tuple[int, int]], voted_shows: Iterable[tuple[int, int, int]]):
    """Return {user: {artist: weight}} from follows (user, artist) and votes (user, artist,
    shows of the artist the user voted on)."""
    weights: dict[int, dict[int, float]] = {}
    for user, artist in follows:
        weights.setdefault(user, {})[artist] = FOLLOW_WEIGHT
    for user, artist, shows in voted_shows:
        mine = weights.setdefault(user, {})
        mine[artist] = mine.get(artist, 0.0) + min(SHOW_VOTED_WEIGHT * shows, VOTED_CAP)
    return weights


def jaccard_matrix(catalogues: list[set[str]]) -> np.ndarray:
    """Return the Jaccard similarity of every pair of sets, 0 on the diagonal."""
    titles = sorted(set().union(*catalogues)) if catalogues else []
    column = {title: i for i, title in enumerate(titles)}
    rows = [i for i, catalogue in enumerate(catalogues) for _ in catalogue]
    cols = [column[t] for catalogue in catalogues for t in catalogue]
    matrix = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(catalogues), len(titles))
    )
    common = (matrix @ matrix.T).toarray()
    sizes = np.array([len(c) for c in catalogues], dtype=float)
    union = sizes[:, None] + sizes[None, :] - common
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(union > 0, common / union, 0.0)
    np.fill_diagonal(result, 0.0)
    return result


def graph_build(
    *,
    names: Mapping[int, str],
    weights: Mapping[int, Mapping[int, float]],
    catalogues: Mapping[int, set[str]],
    recent_votes: Mapping[int, int],
) -> ArtistGraph:
    """Return the artist graph of every artist in `names`."""
    artists = tuple(sorted(names))
    position = {artist: i for i, artist in enumerate(artists)}
    users = sorted(weights)
    rows, cols, values = [], [], []
    for u, user in enumerate(users):
        for artist, weight in weights[user].items():
            if artist in position:
                rows.append(u)
                cols.append(position[artist])
                values.append(weight)
    by_fan = sparse.csr_matrix((values, (rows, cols)), shape=(len(users), len(artists)))
    # With no fan yet, every artist is still in the graph, with no similarity to another.
    if len(users) and len(artists):
        fans = cosine_similarity(by_fan.T)
    else:
        fans = np.zeros((len(artists), len(artists)))
    fans = np.asarray(fans, dtype=float)
    has = (by_fan > 0).astype(float)
    common = np.asarray((has.T @ has).todense()) if len(users) else np.zeros(fans.shape)
    if len(artists):
        np.fill_diagonal(fans, 0.0)
    repertoire = jaccard_matrix([catalogues.get(artist, set()) for artist in artists])
    top = max(recent_votes.values(), default=0)
    trending = {a: v / top for a, v in recent_votes.items() if top and a in position and v > 0}
    return ArtistGraph(
        artists=artists,
        names=dict(names),
        fans=fans,
        common=common,
        repertoire=repertoire,
        trending=trending,
    )


def artists_recommend(
    graph: ArtistGraph,
    mine: Mapping[int, float],
    *,
    nearby: Iterable[int] = (),
    limit: int = 5,
    blend: Blend | None = None,
) -> tuple[str, list[Recommendation]]:
    """Return the strategy ("collaborative" or "trending") and the artists to recommend to a
    fan with these artist weights, best first; artists the fan has are left out. `nearby`
    are artists with upcoming shows where the fan goes."""
    blend = blend or Blend()
    near = set(nearby)
    have = [(graph.index(a), w) for a, w in mine.items() if graph.index(a) is not None]
    n = len(graph.artists)
    if not n:
        return "trending", []
    fans_score = np.zeros(n)
    repertoire_score = np.zeros(n)
    if have:
        total = sum(w for _, w in have)
        for i, w in have:
            fans_score += w * graph.fans[i] / total
            repertoire_score += w * graph.repertoire[i] / total
    trending = np.array([graph.trending.get(a, 0.0) for a in graph.artists])
    place = np.array([1.0 if a in near else 0.0 for a in graph.artists])
    score = (
        blend.fans * fans_score
        + blend.repertoire * repertoire_score
        + blend.place * place
        + blend.trending * trending
    )
    strategy = "collaborative" if have and fans_score.any() else "trending"
    owned = {i for i, _ in have}
    order = sorted(
        (i for i in range(n) if i not in owned and score[i] > 0),
        key=lambda i: (-score[i], graph.names[graph.artists[i]]),
    )
    picks = []
    for i in order[:limit]:
        picks.append(
            Recommendation(
                artist_id=graph.artists[i],
                score=round(float(score[i]), 4),
                reason=_reason(graph, i, have, fans_score[i], repertoire_score[i], place[i]),
            )
        )
    return strategy, picks


def _reason(graph: ArtistGraph, i: int, have, fans: float, repertoire: float, place: float):
    parts = []
    if have and fans > 0:
        j = max(have, key=lambda pair: pair[1] * graph.fans[i][pair[0]])[0]
        if graph.common[i][j] >= MIN_COMMON_FANS:
            parts.append(f"fans of {graph.names[graph.artists[j]]} follow and vote for them too")
        else:  # naming the artist would point at one or two other fans' choices
            parts.append("fans with your taste follow them")
    if have and repertoire > 0:
        j = max(have, key=lambda pair: pair[1] * graph.repertoire[i][pair[0]])[0]
        if graph.repertoire[i][j] > 0:
            parts.append(f"plays songs {graph.names[graph.artists[j]]} plays")
    if place:
        parts.append("playing where you go to shows")
    if graph.trending.get(graph.artists[i]):
        parts.append("trending: many votes this week")
    return "; ".join(parts[:2]) or "popular on MySetlist"

import numpy as np
import pytest

from predictions.recommending import (
    artists_recommend,
    fan_weights,
    graph_build,
    jaccard_matrix,
)

NAMES = {1: "Alpha", 2: "Beta", 3: "Gamma", 4: "Delta"}


def graph(weights, catalogues=None, recent=None):
    return graph_build(
        names=NAMES,
        weights=weights,
        catalogues=catalogues or {},
        recent_votes=recent or {},
    )


def test_fan_weights_add_votes_to_follows_up_to_a_cap():
    weights = fan_weights([(10, 1)], [(10, 1, 1), (10, 2, 9)])
    assert weights == {10: {1: 1.5, 2: 2.0}}


def test_jaccard_matrix_by_hand():
    matrix = jaccard_matrix([{"a", "b"}, {"b", "c"}, set()])
    assert matrix[0, 1] == pytest.approx(1 / 3) and matrix[1, 0] == pytest.approx(1 / 3)
    assert matrix[0, 0] == 0 and matrix[2].sum() == 0


def test_fans_of_an_artist_lead_to_the_artist_its_fans_also_follow():
    # Fans 1-3 follow Alpha and Beta; fan 4 follows Gamma alone; fan 9 follows Alpha only.
    weights = fan_weights([(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2), (4, 3), (9, 1)], [])
    strategy, picks = artists_recommend(graph(weights), weights[9])
    assert strategy == "collaborative"
    assert [p.artist_id for p in picks] == [2]  # Gamma shares no fan with Alpha
    assert picks[0].reason.startswith("fans of Alpha follow and vote for them too")


def test_repertoire_and_place_add_to_the_score():
    weights = fan_weights([(1, 1), (1, 2), (9, 1)], [])
    catalogues = {1: {"song a", "song b"}, 3: {"song a", "song b"}, 2: {"song z"}}
    strategy, picks = artists_recommend(graph(weights, catalogues), weights[9], nearby=[4])
    ids = [p.artist_id for p in picks]
    assert ids[0] == 2 and set(ids) == {2, 3, 4}
    by_id = {p.artist_id: p for p in picks}
    assert "plays songs Alpha plays" in by_id[3].reason
    assert by_id[4].reason == "playing where you go to shows"


def test_a_fan_with_nothing_gets_whats_trending():
    strategy, picks = artists_recommend(graph({}, recent={3: 40, 4: 10}), {})
    assert strategy == "trending"
    assert [p.artist_id for p in picks] == [3, 4]
    assert picks[0].reason == "trending: many votes this week"


def test_no_artists_no_recommendations():
    empty = graph_build(names={}, weights={}, catalogues={}, recent_votes={})
    assert artists_recommend(empty, {1: 1.0}) == ("trending", [])
    assert empty.fans.shape == (0, 0) and np.asarray(empty.repertoire).size == 0


def test_a_reason_names_another_artist_only_when_enough_fans_share_both():
    weights = fan_weights([(1, 1), (1, 2), (9, 1)], [])  # one other fan behind the link
    strategy, picks = artists_recommend(graph(weights), weights[9])
    assert [p.artist_id for p in picks] == [2]
    assert picks[0].reason == "fans with your taste follow them"


def test_a_graph_made_before_any_fan_still_answers_a_fan_who_has_since_voted():
    # The graph is cached: a fan may vote after it was made with no fan in it (a 500 once).
    graph = graph_build(
        names={1: "A", 2: "B", 3: "C"}, weights={}, catalogues={1: {"x"}, 2: {"x"}},
        recent_votes={3: 4},
    )  # fmt: skip

    strategy, found = artists_recommend(graph, {1: 1.0})

    assert graph.fans.shape == graph.common.shape == (3, 3)
    assert strategy == "trending"
    assert [r.artist_id for r in found] == [2, 3]  # B shares A's songs; C is trending

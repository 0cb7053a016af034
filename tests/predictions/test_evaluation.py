import datetime

import pytest

from predictions.baselines import BASELINES, Prediction, freq10, prev
from predictions.evaluation import (
    OVERALL,
    calibration_table,
    show_score,
    walk_forward,
)
from predictions.history import shows_read
from tests.predictions.shows import show


def test_show_score_by_hand():
    prediction = Prediction(ranking=("a", "b", "c", "d"), probabilities={"a": 1.0, "b": 0.5})
    score = show_score(prediction, ["a", "c", "x"], universe={"a", "b", "c", "d"})
    assert score.r_precision == pytest.approx(2 / 3)  # top 3 {a, b, c}, 2 played
    assert score.recall_at_25 == pytest.approx(2 / 3)  # x never predicted
    assert score.jaccard == pytest.approx(2 / 4)  # {a, c} of {a, b, c, x}
    # a: 0, b: 0.25, c: 1, d: 0, x (a debut): 1, over 5 songs.
    assert score.brier == pytest.approx(2.25 / 5)


def test_show_score_recall_at_25_looks_past_k():
    prediction = Prediction(ranking=("b", "a"))
    score = show_score(prediction, ["a"], universe=())
    assert (score.r_precision, score.recall_at_25, score.jaccard) == (0.0, 1.0, 0.0)


def test_calibration_table_bins_probability_against_outcome():
    bins = calibration_table([(0.05, False), (0.15, True), (0.1, False), (1.0, True)], bins=10)
    assert [(b.lower, b.count, b.observed) for b in bins] == [
        (0.0, 1, 0.0),
        (0.1, 2, 0.5),
        (0.9, 1, 1.0),
    ]
    assert bins[1].mean_predicted == pytest.approx(0.125)


def test_walk_forward_never_sees_the_show_or_later_ones():
    shows = [
        show("2024-01-01", "a", "b"),
        show("2024-01-02", "a", "b"),
        show("2024-01-03", "x", "y"),  # x and y are played only from here on
        show("2024-01-03", "x", "z"),  # a late show the same day: not seen by the early one
        show("2024-01-04", "x", "y"),
    ]
    seen = []

    def spy(earlier, date):
        seen.append((date, [s.date for s in earlier]))
        return freq10(earlier, date)

    report = walk_forward(shows, {"spy": spy, "prev": prev}, last=3, min_songs=2)
    for date, earlier in seen:
        assert all(d < date for d in earlier)
    assert [len(earlier) for _, earlier in seen] == [2, 2, 4]
    # The shows on the 3rd could not be foreseen; on the 4th, the previous show had x.
    assert report.summaries["Band"]["spy"].r_precision == pytest.approx((0 + 0 + 0.5) / 3)
    assert report.summaries["Band"]["prev"].r_precision == pytest.approx((0 + 0 + 0.5) / 3)
    assert report.summaries[OVERALL]["prev"].shows == 3


def test_walk_forward_evaluates_the_last_shows_with_enough_songs_per_artist():
    shows = [show(f"2024-01-{d:02}", "a", "b", artist=n) for d in (1, 2, 3) for n in "PQ"]
    shows.append(show("2024-01-04", "a", artist="P"))  # too short to evaluate
    report = walk_forward(shows, {"prev": prev}, last=2, min_songs=2)
    assert report.summaries["P"]["prev"].shows == 2
    assert report.summaries["P"]["prev"].r_precision == 1.0
    assert report.summaries[OVERALL]["prev"].shows == 4
    assert report.calibration["prev"][-1].observed == 1.0


# README table of ../shared/data/setlists: R-precision on the last 200 shows with 8+ songs.
README = {
    "Phish": {"freq10": 0.04, "freq50": 0.15, "prev": 0.01, "notebook": 0.28},
    "Grateful Dead": {"freq10": 0.21, "freq50": 0.27, "prev": 0.13, "notebook": 0.27},
    "Widespread Panic": {"freq10": 0.42, "freq50": 0.46, "prev": 0.25, "notebook": 0.23},
    "Bruce Springsteen": {"freq10": 0.93, "freq50": 0.89, "prev": 0.90, "notebook": 0.12},
}
# Where the figure differs by more than its rounding, and why:
# - Phish notebook 0.268: the README does not say how the rule's songs are ordered; ranked
#   by plays in the year (ties by latest play) they give 0.27.
# - Widespread Panic prev 0.224: the README counts every song of the previous show found in
#   the real setlist (0.249 that way), not the first k of it as R-precision does; the prediction
#   is then longer than k whenever the previous show was, which R-precision does not allow.
#   Elsewhere the two agree within 0.01.
EXPECTED = {("Phish", "notebook"): (0.268, 0.01), ("Widespread Panic", "prev"): (0.224, 0.01)}


def test_baselines_on_the_shared_data_match_its_readme(shared_shows_file):
    # "Grateful Dead (1993-95)" in the README is the span of its last 200 shows, not a filter.
    report = walk_forward(shows_read(shared_shows_file), BASELINES, last=200)
    for artist, figures in README.items():
        assert report.summaries[artist]["freq50"].shows == 200
        for name, published in figures.items():
            expected, tolerance = EXPECTED.get((artist, name), (published, 0.01))
            measured = report.summaries[artist][name].r_precision
            assert measured == pytest.approx(expected, abs=tolerance), (artist, name, measured)


def test_grateful_deads_last_200_shows_are_1993_to_1995(shared_shows_file):
    dead = [s for s in shows_read(shared_shows_file) if s.artist == "Grateful Dead"]
    long_shows = [s for s in dead if len(s.titles) >= 8][-200:]
    assert (long_shows[0].date.year, long_shows[-1].date) == (1993, datetime.date(1995, 7, 9))

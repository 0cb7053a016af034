"""The model's forecasts: the same from a history that holds later shows as from one that
stops at the show (no leakage), votes moving songs both ways, an ordered setlist."""

import numpy as np
import pytest

from predictions.features import ArtistHistory
from predictions.history import shows_read
from predictions.model import Blend, Forecaster, blend_votes, fit, target_of, training_set
from tests.predictions.factories import band_lines


@pytest.fixture(scope="module")
def shows():
    return shows_read(band_lines(start="2024-01-01"))


@pytest.fixture(scope="module")
def classifier(shows):
    return fit(training_set({"Made-up Band": shows[:45]}))


def test_a_forecast_ignores_every_show_after_its_cutoff(shows, classifier):
    cutoff = 50
    target = target_of(shows[cutoff])
    full = Forecaster(classifier=classifier, history=ArtistHistory(shows)).forecast(cutoff, target)
    known = Forecaster(classifier=classifier, history=ArtistHistory(shows[:cutoff]))
    alone = known.forecast(cutoff, target)
    assert full == alone
    assert full.expected_length == 17 and len(full.main_set) + len(full.encore) == 17


def test_votes_move_songs_up_and_down_within_the_weight():
    p = np.array([0.5, 0.5, 0.5])
    moved = blend_votes(p, np.array([4.0, -2.0, 0.0]), weight=1.0)
    assert moved[0] == pytest.approx(1 / (1 + np.exp(-1)))  # the top vote: +1 log-odds
    assert moved[1] == pytest.approx(1 / (1 + np.exp(0.5)))  # half as many against
    assert moved[2] == 0.5
    only_down = blend_votes(p, np.array([0.0, -3.0, 0.0]), weight=2.0)
    assert only_down[1] == pytest.approx(1 / (1 + np.exp(2)))  # downvotes count alone too
    assert (blend_votes(p, np.zeros(3), weight=2.0) == p).all()
    assert (blend_votes(p, np.array([3.0, 0, 0]), weight=0) == p).all()


def test_not_enough_history_is_a_note_not_a_forecast(shows, classifier):
    forecaster = Forecaster(
        classifier=classifier, history=ArtistHistory(shows[:3]), blend=Blend(min_history=5)
    )
    forecast = forecaster.forecast(3, target_of(shows[3]))
    assert forecast.songs == () and forecast.main_set == ()
    assert forecast.note == "not enough history: 3 earlier shows, at least 5 needed"

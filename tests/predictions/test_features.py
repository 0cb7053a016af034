import dataclasses
import datetime

import numpy as np
import pytest

from predictions.features import FEATURES, ArtistHistory, Target
from tests.predictions.shows import show


def row(history: ArtistHistory, cutoff: int, target: Target, title: str) -> dict[str, float]:
    columns, x = history.features(cutoff, target)
    (i,) = np.flatnonzero(columns == history.song_index[title])
    return dict(zip(FEATURES, x[i].tolist(), strict=True))


def on_tour(past, tour, city=None, venue=None):
    return dataclasses.replace(past, tour=tour, city=city, venue=venue)


SHOWS = [
    on_tour(show("2024-01-01", "a", "b", "c"), "old"),
    on_tour(show("2024-03-01", "a", "b", "d"), "spring"),
    on_tour(show("2024-03-03", "a", "c", "d"), "spring", city="Here"),
    on_tour(show("2024-03-05", "a", "b", "d"), "spring", city="Here"),
    on_tour(show("2024-03-07", "a", "c", "e"), "spring"),
]
TARGET = Target(date=datetime.date(2024, 3, 6), tour="spring", city="Here")


def test_features_use_only_the_shows_before_the_cutoff():
    later = [
        on_tour(show("2024-03-06", "e", "f"), "spring", city="Here"),
        on_tour(show("2024-03-08", "a", "g"), "spring"),
    ]
    cutoff = 4  # the target comes after the first four shows
    alone = ArtistHistory(SHOWS[:cutoff])
    full = ArtistHistory(SHOWS[:cutoff] + later)
    columns, x = alone.features(cutoff, TARGET)
    full_columns, full_x = full.features(cutoff, TARGET)
    assert [alone.songs[c] for c in columns] == [full.songs[c] for c in full_columns]
    np.testing.assert_array_equal(x, full_x)


def test_tour_core_features_by_hand():
    history = ArtistHistory(SHOWS[:4])
    a = row(history, 4, TARGET, "a")  # played at every show
    b = row(history, 4, TARGET, "b")  # played at shows 0, 1 and 3
    assert (a["streak"], b["streak"]) == (pytest.approx(np.log1p(4)), pytest.approx(np.log1p(1)))
    # The spring tour's earlier shows are 1, 2 and 3: b was at 1 and 3, the latest in a row.
    assert (b["tour_share"], b["tour_last10"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert (a["tour_streak"], b["tour_streak"]) == (1.0, pytest.approx(1 / 3))


def test_song_repeat_is_the_share_of_plays_followed_by_another():
    history = ArtistHistory(SHOWS[:4])
    # b's plays at shows 0 and 1 (show 3 has no next show yet): followed at 1, not at 2.
    assert row(history, 4, TARGET, "b")["song_repeat"] == pytest.approx(1 / 2)
    assert row(history, 4, TARGET, "a")["song_repeat"] == 1.0
    assert row(history, 4, TARGET, "c")["song_repeat"] == 0.0

import datetime

from predictions.baselines import freq, freq10, notebook, prev
from tests.predictions.shows import show

SHOWS = [show("2024-01-01", "a", "b"), show("2024-01-02", "b", "c"), show("2024-01-03", "c", "d")]
NEXT = datetime.date(2024, 1, 4)


def test_freq_ranks_by_plays_in_the_last_n_shows_ties_by_latest_play_then_title():
    prediction = freq(SHOWS, NEXT, n=2)  # b once, c twice, d once (d played later than b)
    assert prediction.ranking == ("c", "d", "b")
    assert prediction.probabilities == {"c": 1.0, "d": 0.5, "b": 0.5}
    assert prediction.probability("a") == 0.0


def test_freq10_counts_all_of_fewer_shows():
    # a once, b twice, c twice, d once: c before b (played later), d before a.
    assert freq10(SHOWS, NEXT).ranking == ("c", "b", "d", "a")
    assert freq10([], NEXT).ranking == ()


def test_notebook_puts_the_years_songs_not_at_the_last_3_shows_first():
    shows = [
        show("2020-01-01", "z"),  # more than 365 days before
        show("2024-03-01", "a", "b"),
        show("2024-06-01", "a", "c"),
        show("2024-07-01", "d"),
        show("2024-08-01", "e"),
    ]
    prediction = notebook(shows, datetime.date(2024, 12, 1))
    # The rule: b. Then set aside: a (twice), then e, d, c (once; latest played first).
    assert prediction.ranking == ("b", "a", "e", "d", "c")
    assert prediction.probabilities == {"b": 1.0}


def test_prev_repeats_the_previous_show_in_order():
    prediction = prev(SHOWS, NEXT)
    assert prediction.ranking == ("c", "d")
    assert prediction.probabilities == {"c": 1.0, "d": 1.0}
    assert prev([], NEXT).ranking == ()

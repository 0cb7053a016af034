import datetime
import json

import pytest

from predictions.history import HistoryError, PlayedSong, shows_read


def line(**overrides) -> str:
    record = {
        "artist": "Phish",
        "date": "2024-07-01",
        "venue": "MSG",
        "city": "New York",
        "tour": None,
        "songs": [{"title": "Tweezer", "set": "1"}, {"title": "Tweezer Reprise", "set": "e"}],
        "source": "test",
        "source_id": "1",
    }
    return json.dumps(record | overrides)


def test_shows_read_case_folds_titles_in_order_with_set_markers():
    (show,) = shows_read([line(songs=[{"title": "Tweezer", "set": "2"}, {"title": "SAND"}])])
    assert show.artist == "Phish"
    assert show.date == datetime.date(2024, 7, 1)
    assert (show.venue, show.city, show.tour) == ("MSG", "New York", None)
    assert show.songs == (PlayedSong("tweezer", "2"), PlayedSong("sand", None))


def test_shows_read_sorts_by_artist_then_date_and_skips_blank_lines():
    shows = shows_read([line(date="2024-07-02"), "\n", line(artist="Dead"), line()])
    assert [(s.artist, s.date.day) for s in shows] == [("Dead", 1), ("Phish", 1), ("Phish", 2)]


def test_shows_read_skips_nameless_songs_and_titles_keep_first_play_order():
    songs = [{"title": "A"}, {"title": None}, {"title": "B"}, {"title": "a"}]
    (show,) = shows_read([line(songs=songs)])
    assert show.titles == ("a", "b")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[]", "line 2: each line must be a JSON object"),
        (line(artist=""), "line 2: 'artist' is required"),
        (line(date="01/07/2024"), "line 2: 'date' must be YYYY-MM-DD"),
        (line(songs="Tweezer"), "line 2: 'songs' must be a list"),
        (line(songs=["Tweezer"]), "line 2: song 1 must be an object"),
        (line(songs=[{"title": "x", "set": "9"}]), "line 2: song 1: unknown set marker '9'"),
        (line(songs=[{"title": 7}]), "line 2: song 1: 'title' must be a string"),
    ],
)
def test_shows_read_names_the_bad_line(bad, message):
    with pytest.raises(HistoryError, match=message):
        shows_read([line(), bad])


def test_shows_read_reads_a_path_and_says_when_it_cannot(tmp_path):
    path = tmp_path / "shows.jsonl"
    path.write_text(line() + "\n" + line(date="2024-07-02") + "\n", encoding="utf-8")
    assert len(shows_read(path)) == 2
    with pytest.raises(HistoryError, match="Cannot read"):
        shows_read(tmp_path / "missing.jsonl")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(HistoryError, match="not UTF-8"):
        shows_read(path)

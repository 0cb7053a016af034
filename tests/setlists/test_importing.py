import datetime
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mysetlist.setlists.importing import ImportFileError, setlists_import_file
from mysetlist.setlists.models import Artist, SetlistEntry, Show, Song, Venue
from notifications.models import Trigger

pytestmark = pytest.mark.django_db


def show_line(**overrides) -> str:
    record = {
        "artist": "The Examples",
        "date": "2019-06-01",
        "venue": "Test Hall",
        "city": "Springfield",
        "country": "USA",
        "tour": "Summer 2019",
        "songs": [
            {"title": "Opener", "set": "1"},
            {"title": "Middle", "set": "2"},
            {"title": "Closer", "set": "e"},
        ],
        "source": "fixture",
        "source_id": "1",
    }
    return json.dumps(record | overrides)


def write(tmp_path, *lines) -> object:
    path = tmp_path / "shows.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_creates_shows_songs_and_ordered_setlists(tmp_path):
    path = write(tmp_path, show_line(), show_line(source_id="2", date="2019-06-02"))

    result = setlists_import_file(path=path)

    assert (result.shows_created, result.entries_written, result.songs_created) == (2, 6, 3)
    show = Show.objects.get(source_id="1")
    assert show.status == Show.Status.COMPLETED
    assert show.venue.name == "Test Hall" and show.tour.name == "Summer 2019"
    entries = list(
        show.setlist_entries.order_by("position").values_list(
            "song__title", "set_marker", "set_number"
        )
    )
    assert entries == [("Opener", "main", 1), ("Middle", "main", 2), ("Closer", "encore", 1)]


def test_import_twice_changes_nothing(tmp_path):
    path = write(tmp_path, show_line(), show_line(source_id="2"))
    setlists_import_file(path=path)
    before = list(SetlistEntry.objects.values_list("pk", flat=True))

    again = setlists_import_file(path=path)

    assert (again.shows_created, again.shows_updated, again.entries_written) == (0, 0, 0)
    assert list(SetlistEntry.objects.values_list("pk", flat=True)) == before
    assert Show.objects.count() == 2 and Song.objects.count() == 3


def test_import_rewrites_only_a_changed_setlist(tmp_path):
    setlists_import_file(path=write(tmp_path, show_line(), show_line(source_id="2")))
    changed = show_line(songs=[{"title": "Closer", "set": "1"}, {"title": "New One", "set": "e"}])

    result = setlists_import_file(path=write(tmp_path, changed, show_line(source_id="2")))

    assert (result.setlists_written, result.entries_written, result.songs_created) == (1, 2, 1)
    assert list(
        Show.objects.get(source_id="1").setlist_entries.values_list("song__title", flat=True)
    ) == ["Closer", "New One"]


def test_import_matches_song_titles_case_insensitively(tmp_path):
    line = show_line(songs=[{"title": "Opener", "set": None}, {"title": "OPENER", "set": None}])

    setlists_import_file(path=write(tmp_path, line))

    assert Song.objects.count() == 1


@pytest.mark.parametrize("titles", [("İnci", "inci"), ("Über", "über"), ("STRASSE", "straße")])
def test_import_of_titles_the_database_folds_differently_from_python(tmp_path, titles):
    line = show_line(songs=[{"title": title, "set": "1"} for title in titles])
    path = write(tmp_path, line)

    first = setlists_import_file(path=path)
    again = setlists_import_file(path=path)

    assert SetlistEntry.objects.count() == 2
    assert first.songs_created == Song.objects.count() in (1, 2)
    assert (again.songs_created, again.entries_written) == (0, 0)


def test_import_names_every_bad_line_and_writes_nothing(tmp_path):
    path = write(
        tmp_path,
        show_line(),
        "{not json",
        show_line(source_id="3", date="2019-13-45"),
        show_line(source_id="4", songs=[{"title": "x", "set": "bonus"}]),
        show_line(source_id="5", artist=None),
        "[1, 2]",
    )

    with pytest.raises(ImportFileError) as error:
        setlists_import_file(path=path)

    message = error.value.message
    assert "line 2: not valid JSON" in message
    assert "line 3: 'date' must be YYYY-MM-DD" in message
    assert "line 4: song 1: unknown set marker 'bonus'" in message
    assert "line 5: 'artist' is required" in message
    assert "line 6: each line must be a JSON object" in message
    assert not Artist.objects.exists() and not Show.objects.exists()


def test_import_skips_untitled_songs_with_a_warning(tmp_path):
    line = show_line(songs=[{"title": "Opener", "set": "1"}, {"title": "", "set": "e"}])

    result = setlists_import_file(path=write(tmp_path, line))

    assert result.warnings == ["line 1: song 2 has no title and was skipped"]
    assert SetlistEntry.objects.count() == 1


def test_import_rejects_duplicate_source_ids(tmp_path):
    with pytest.raises(ImportFileError, match="line 2: same source and source_id as line 1"):
        setlists_import_file(path=write(tmp_path, show_line(), show_line()))


def test_import_command_reports_errors_as_command_error(tmp_path):
    with pytest.raises(CommandError, match="line 1"):
        call_command("import_setlists", str(write(tmp_path, "oops")), "--no-progress")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_setlists", str(tmp_path / "missing.jsonl"), "--no-progress")


def test_import_of_the_shared_historical_data(shared_shows_file, capsys):
    call_command("import_setlists", str(shared_shows_file), "--no-progress")

    # Figures from the data's README; two untitled songs in one show are skipped.
    assert Show.objects.count() == 7567
    assert SetlistEntry.objects.count() == 145741 - 2
    assert set(Artist.objects.values_list("name", flat=True)) == {
        "Bruce Springsteen",
        "Grateful Dead",
        "Phish",
        "Widespread Panic",
    }
    assert Venue.objects.exists()

    call_command("import_setlists", str(shared_shows_file), "--no-progress")

    assert "Shows: 0 new, 0 updated; setlists written: 0 (0 entries)" in capsys.readouterr().out


def test_import_announces_new_upcoming_shows_only(tmp_path):
    upcoming = (timezone.now().date() + datetime.timedelta(days=30)).isoformat()
    path = write(tmp_path, show_line(), show_line(source_id="2", date=upcoming, songs=[]))

    setlists_import_file(path=path)
    setlists_import_file(path=path)  # a re-import announces nothing again

    show = Show.objects.get(source_id="2")
    assert show.status == Show.Status.ANNOUNCED
    assert list(Trigger.objects.values_list("key", flat=True)) == [f"show_announced:{show.pk}"]

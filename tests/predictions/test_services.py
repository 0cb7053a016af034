import datetime

import pytest

from mysetlist.core.exceptions import ConflictError
from mysetlist.setlists.models import SetlistEntry, Show, Song
from mysetlist.setlists.services import show_transition, vote_cast
from predictions import selectors, services
from predictions.models import ModelVersion, ShowPrediction
from tests.predictions.factories import CORE, ROTATION, band_import, band_start
from tests.setlists.factories import ArtistFactory, ShowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def band():
    band_import()
    return Show.objects.filter(artist__name="Made-up Band").order_by("date").last().artist


@pytest.fixture
def model(band):
    return services.model_fit(histories=services.imported_histories(), last=10)


@pytest.fixture
def upcoming(band):
    last = band.shows.order_by("date").last()
    return ShowFactory(
        artist=band, date=last.date + datetime.timedelta(days=3), status=Show.Status.VOTING_OPEN
    )


def titles(ids):
    return dict(Song.objects.filter(pk__in=ids).values_list("pk", "title"))


def test_model_fit_stores_an_active_model_with_its_window_and_evaluation(band, model):
    assert model.is_active and ModelVersion.objects.get(is_active=True) == model
    window = model.training_window["Made-up Band"]
    # The stored model learned from every show; its evaluation, from the shows before the
    # last 10 only.
    assert window["shows"] > 40
    assert window["last"] == (band_start() + datetime.timedelta(days=3 * 59)).isoformat()
    figures = model.evaluation["summaries"]["Made-up Band"]
    assert set(figures) == {"model", "freq10", "freq50", "notebook", "prev"}
    assert figures["model"]["shows"] == 10
    # The core is every night's: the model finds it at least as well as the best baseline.
    best = max(v["r_precision"] for k, v in figures.items() if k != "model")
    assert figures["model"]["r_precision"] >= best
    assert selectors.model_classifier(version=model) is not None


def test_a_second_fit_takes_over_as_the_active_model(band, model):
    second = services.model_fit(histories=services.imported_histories(), last=10)
    model.refresh_from_db()
    assert second.is_active and not model.is_active


def test_prediction_generate_gives_probabilities_reasons_and_an_ordered_setlist(model, upcoming):
    prediction = services.prediction_generate(show_id=upcoming.pk)
    assert prediction.model_version == model and prediction.note == ""
    assert prediction.history_shows == 60 and prediction.expected_length == 17
    probabilities = [s["probability"] for s in prediction.songs]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 < p < 1 for p in probabilities)
    names = titles([s["song_id"] for s in prediction.songs])
    top = {names[s["song_id"]] for s in prediction.songs[:10]}
    assert top == set(CORE)  # played every night
    assert all(s["reason"] for s in prediction.songs)
    core = next(s for s in prediction.songs if names[s["song_id"]] == "Core 1")
    assert "played at 10 of the last 10 shows" in core["reason"]
    # The encore alternates, and the history marks encores: the predicted one closes the show.
    assert titles(prediction.encore) and set(titles(prediction.encore).values()) <= {
        "Closer A",
        "Closer B",
    }
    setlist = titles(prediction.main_set)
    assert len(prediction.main_set) + len(prediction.encore) == 17
    assert [setlist[i] for i in prediction.main_set][:5] == CORE[:5]  # openers first


def test_prediction_of_an_artist_without_enough_history_says_so(model):
    newcomer = ShowFactory(artist=ArtistFactory(name="Newcomer"), status=Show.Status.VOTING_OPEN)
    prediction = services.prediction_generate(show_id=newcomer.pk)
    assert prediction.songs == [] and prediction.main_set == []
    assert prediction.note == "not enough history: 0 earlier shows, at least 5 needed"


def test_prediction_with_a_few_shows_is_not_enough_history(model):
    band_import(artist="Short Band", shows=3)
    artist = Show.objects.filter(artist__name="Short Band").first().artist
    show = ShowFactory(artist=artist, status=Show.Status.VOTING_OPEN)
    prediction = services.prediction_generate(show_id=show.pk)
    assert prediction.note == "not enough history: 3 earlier shows, at least 5 needed"


def test_prediction_without_a_model_says_so(upcoming):
    prediction = services.prediction_generate(show_id=upcoming.pk)
    assert prediction.note == "no model has been fitted yet" and prediction.songs == []


def test_votes_move_a_song_and_refresh_predicts_only_what_changed(model, upcoming):
    first = services.predictions_refresh()
    assert first == [upcoming.pk]
    assert services.predictions_refresh() == []  # nothing moved
    before = selectors.show_prediction_get(show_id=upcoming.pk)
    rare = Song.objects.get(artist=upcoming.artist, title=ROTATION[0])
    chance = {s["song_id"]: s["probability"] for s in before.songs}[rare.pk]
    for _ in range(3):
        vote_cast(user=UserFactory(), show_id=upcoming.pk, song_id=rare.pk, value=1)
    assert services.predictions_refresh() == [upcoming.pk]
    after = selectors.show_prediction_get(show_id=upcoming.pk)
    moved = next(s for s in after.songs if s["song_id"] == rare.pk)
    assert moved["probability"] > chance
    assert moved["reason"].startswith("fans voted it #1 for this show")


def test_settings_change_predicts_again_and_zero_weight_ignores_votes(model, upcoming):
    services.predictions_refresh()
    rare = Song.objects.get(artist=upcoming.artist, title=ROTATION[0])
    before = {
        s["song_id"]: s["probability"]
        for s in selectors.show_prediction_get(show_id=upcoming.pk).songs
    }
    vote_cast(user=UserFactory(), show_id=upcoming.pk, song_id=rare.pk, value=1)
    staff = UserFactory(is_staff=True)
    services.prediction_settings_update(user=staff, vote_weight=0)
    assert services.predictions_refresh() == [upcoming.pk]
    after = {
        s["song_id"]: s["probability"]
        for s in selectors.show_prediction_get(show_id=upcoming.pk).songs
    }
    assert after[rare.pk] == before[rare.pk]


def test_an_imported_setlist_scores_the_prediction_and_the_running_accuracy(model, upcoming):
    services.prediction_generate(show_id=upcoming.pk)
    upcoming.source, upcoming.source_id = "test", "Made-up Band-60"
    upcoming.save(update_fields=["source", "source_id"])
    band_import(shows=61)  # the show's setlist arrives with the next import
    assert services.predictions_score_pending() == []  # the show is not over yet
    show_transition(show=upcoming, status=Show.Status.LOCKED)
    assert services.predictions_score_pending() == [upcoming.pk]
    prediction = ShowPrediction.objects.get(show=upcoming)
    assert prediction.scored_at is not None
    played = set(SetlistEntry.objects.filter(show=upcoming).values_list("song_id", flat=True))
    k = len(played)
    hits = len({s["song_id"] for s in prediction.songs[:k]} & played)
    assert prediction.r_precision == pytest.approx(hits / k, abs=1e-4)
    assert prediction.r_precision >= 10 / 17  # the core at least
    accuracy = selectors.prediction_accuracy()
    assert accuracy["overall"]["shows"] == 1
    assert accuracy["artists"]["Made-up Band"]["r_precision"] == prediction.r_precision


def test_score_pending_scores_setlists_entered_by_hand(model, upcoming):
    prediction = services.prediction_generate(show_id=upcoming.pk)
    assert services.predictions_score_pending() == []  # no setlist yet
    songs = Song.objects.filter(artist=upcoming.artist, title__in=CORE)
    for position, song in enumerate(songs, start=1):
        SetlistEntry.objects.create(show=upcoming, song=song, position=position)
    show_transition(show=upcoming, status=Show.Status.COMPLETED)
    assert services.predictions_score_pending() == [upcoming.pk]
    prediction.refresh_from_db()
    assert prediction.r_precision == 1.0  # the ten core songs were the top ten
    assert services.predictions_score_pending() == []
    # A setlist corrected in admin afterwards is scored again.
    SetlistEntry.objects.filter(show=upcoming, position=1).delete()
    rare = Song.objects.get(artist=upcoming.artist, title=ROTATION[5])
    SetlistEntry.objects.create(show=upcoming, song=rare, position=1)
    assert services.predictions_score_pending() == [upcoming.pk]
    prediction.refresh_from_db()
    assert prediction.r_precision < 1.0


def test_predictions_freeze_when_the_shows_day_begins(model, upcoming):
    from mysetlist.setlists.selectors import show_day_starts_at

    starts = show_day_starts_at(show=upcoming)
    made = services.prediction_generate(
        show_id=upcoming.pk, now=starts - datetime.timedelta(hours=1)
    )
    with pytest.raises(ConflictError, match="frozen when its day began"):
        services.prediction_generate(show_id=upcoming.pk, now=starts)
    rare = Song.objects.get(artist=upcoming.artist, title=ROTATION[0])
    vote_cast(user=UserFactory(), show_id=upcoming.pk, song_id=rare.pk, value=1)
    assert services.predictions_refresh(now=starts + datetime.timedelta(hours=2)) == []
    assert ShowPrediction.objects.get(show=upcoming).generated_at == made.generated_at


def test_prediction_ensure_makes_one_for_upcoming_shows_only(model, upcoming, band):
    assert services.prediction_ensure(show_id=upcoming.pk).show_id == upcoming.pk
    past = band.shows.order_by("date").first()
    assert services.prediction_ensure(show_id=past.pk) is None
    assert not ShowPrediction.objects.filter(show=past).exists()

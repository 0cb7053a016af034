import pytest
from django.core.management import call_command
from django.urls import reverse

from predictions import services
from tests.predictions.factories import band_import
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_page_is_for_staff_only(client):
    url = reverse("predictions:staff")
    assert client.get(url).status_code == 302  # to the log-in page
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403  # the plain "not allowed" page


def test_staff_page_without_runs_says_what_to_run(client):
    client.force_login(UserFactory(is_staff=True))
    page = client.get(reverse("predictions:staff")).content.decode()
    assert "No model is fitted yet" in page and "manage.py evaluate_predictions" in page
    assert "No live prediction has been scored yet" in page


def test_staff_page_shows_the_latest_backtest_with_its_charts(client):
    band_import()
    services.model_fit(histories=services.imported_histories(), last=10)
    call_command("evaluate_predictions", "--last", "10", "--no-progress")
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("predictions:staff"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "imported history, the last 10 shows of each artist" in page
    assert 'id="accuracy-figure"' in page and 'id="calibration-figure"' in page
    assert "Made-up Band" in page and "plotly/plotly.min.js" in page
    rows = response.context["rows"]
    assert [r["artist"] for r in rows] == ["Made-up Band", "All artists"]
    assert rows[0]["model"]["shows"] == 10
    assert [name for name, _ in rows[0]["baselines"]] == ["freq10", "freq50", "notebook", "prev"]


def test_staff_page_of_an_unknown_run_is_a_404(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("predictions:staff") + "?run=999").status_code == 404

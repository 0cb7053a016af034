"""What a fan sees of a prediction: the predicted setlist beside the ballot, readable at a
phone's width and at a desktop's, without sideways scrolling of the prediction."""

import os

import pytest
from selenium.webdriver.common.by import By

from predictions import services
from tests.predictions.factories import CORE, band_import, band_show_open
from tests.setlists.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def predicted_show(transactional_db):
    show = band_show_open()
    services.predictions_refresh()
    return show


@pytest.mark.parametrize("width", [390, 1280])
def test_the_predicted_setlist_shows_beside_the_ballot(live_daphne, browser, predicted_show, width):
    driver = browser()
    driver.set_window_size(width, 900)
    driver.get(f"{live_daphne}/shows/{predicted_show.pk}/")
    panel = driver.find_element(By.ID, "prediction")
    items = panel.find_elements(By.CSS_SELECTOR, "ol.predicted-setlist li .song")
    assert [item.text for item in items][:5] == CORE[:5]
    assert len(panel.find_elements(By.CSS_SELECTOR, "ol.predicted-setlist li")) == 17
    assert "About 17 songs" in panel.text
    reason = panel.find_element(By.CSS_SELECTOR, "li .reason").text
    assert "played at 10 of the last 10 shows" in reason
    # The ballot's section (its heading, filters and list of songs) is what sits beside it.
    ballot = driver.find_element(By.CSS_SELECTOR, ".ballot-section")
    # The panel fits the window; on a desktop it sits beside the ballot, on a phone above it.
    assert panel.rect["x"] >= 0 and panel.rect["x"] + panel.rect["width"] <= width
    if width >= 1000:
        assert abs(panel.rect["y"] - ballot.rect["y"]) < 200 and panel.rect["x"] < ballot.rect["x"]
    else:
        assert panel.rect["y"] < ballot.rect["y"]
    shots = os.environ.get("MYSETLIST_SCREENSHOTS")
    if shots:
        driver.save_screenshot(os.path.join(shots, f"prediction-{width}.png"))


@pytest.mark.parametrize("width", [390, 1280])
def test_staff_see_the_backtest_with_plotly_charts(live_daphne, browser, transactional_db, width):
    from django.core.management import call_command
    from selenium.webdriver.support.ui import WebDriverWait

    band_import()
    call_command("evaluate_predictions", "--last", "10", "--no-progress")
    UserFactory(username="staffer", is_staff=True)
    driver = browser()
    driver.set_window_size(width, 900)
    driver.get(f"{live_daphne}/accounts/login/?next=/predictions/staff/")
    driver.find_element(By.NAME, "username").send_keys("staffer")
    driver.find_element(By.NAME, "password").send_keys("correct horse battery")
    driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/predictions/staff/"))
    for chart in ("accuracy-chart", "calibration-chart"):
        WebDriverWait(driver, 20).until(
            lambda d, c=chart: "js-plotly-plot" in d.find_element(By.ID, c).get_attribute("class")
        )
        lines = driver.find_elements(By.CSS_SELECTOR, f"#{chart} .scatterlayer .trace")
        assert len(lines) >= 2  # the model and a baseline (or the diagonal)
    assert "Made-up Band" in driver.find_element(By.ID, "backtest").text
    chart = driver.find_element(By.ID, "calibration-chart").rect
    assert chart["x"] >= 0 and chart["x"] + chart["width"] <= width
    shots = os.environ.get("MYSETLIST_SCREENSHOTS")
    if shots:
        driver.save_screenshot(os.path.join(shots, f"staff-{width}.png"))

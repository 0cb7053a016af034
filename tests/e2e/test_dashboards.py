"""Every stored dashboard as staff see it in headless Chromium, at a phone's width and a
desktop's: each chart drawn by plotly, no widget in error, nothing wider than the window;
and a live update arriving over the websocket without a reload."""

import datetime as dt
import os

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from analytics.rollups.passes import rollups_process
from analytics.services import events_ingest
from monitoring.dashboards import services
from monitoring.dashboards.defaults import DASHBOARDS, dashboards_install
from monitoring.dashboards.models import Dashboard, Widget
from monitoring.models import Alert, AlertRule
from tests.analytics.generated import generate
from tests.setlists.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def platform(transactional_db):
    """Default dashboards over a few days of made-up events, sign-ups among them."""
    dashboards_install(Dashboard, Widget)
    now = timezone.now()
    events = generate(now, n=600, seed=8, span=dt.timedelta(days=6))
    events += [
        {"event": "signed_up", "distinct_id": f"anon-{n}", "message_id": f"signup-{n}",
         "timestamp": (now - dt.timedelta(hours=5 * n)).isoformat(), "properties": {}}
        for n in range(1, 12)
    ]  # fmt: skip
    for start in range(0, len(events), 200):
        events_ingest(body={"batch": events[start : start + 200]}, received_at=now)
    for granularity in ("minute", "hour", "day"):
        rollups_process(granularity=granularity)
    UserFactory(username="staffer", is_staff=True)


def log_in(driver, base: str, path: str) -> None:
    driver.get(f"{base}/accounts/login/?next={path}")
    driver.find_element(By.NAME, "username").send_keys("staffer")
    driver.find_element(By.NAME, "password").send_keys("correct horse battery")
    driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith(path))


def charts_drawn(driver) -> bool:
    charts = driver.find_elements(By.CSS_SELECTOR, "[data-chart]")
    return all("js-plotly-plot" in c.get_attribute("class") for c in charts)


@pytest.mark.parametrize("width", [390, 1280])
def test_every_dashboard_draws_its_charts(live_daphne, browser, platform, width):
    driver = browser()
    driver.set_window_size(width, 900)
    log_in(driver, live_daphne, "/monitoring/dashboards/executive/")
    shots = os.environ.get("MYSETLIST_SCREENSHOTS")
    for spec in DASHBOARDS:
        driver.get(f"{live_daphne}/monitoring/dashboards/{spec['slug']}/")
        WebDriverWait(driver, 20).until(charts_drawn)
        board = Dashboard.objects.get(slug=spec["slug"])
        sections = driver.find_elements(By.CSS_SELECTOR, "section.widget")
        assert len(sections) == board.widgets.count()
        errors = [s.text for s in driver.find_elements(By.CSS_SELECTOR, ".widget-error")]
        assert errors == [], spec["slug"]
        charts = driver.find_elements(By.CSS_SELECTOR, "[data-chart]")
        expected = board.widgets.exclude(kind__in=["metric", "table"]).count()
        assert len(charts) == expected
        for chart in charts:  # a plotly drawing inside each, within the window
            assert chart.find_elements(By.CSS_SELECTOR, "svg.main-svg")
            assert chart.rect["x"] >= 0 and chart.rect["x"] + chart.rect["width"] <= width
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width
        if shots:  # the whole page, in a window as tall as it
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(height + 140, 8000))
            driver.save_screenshot(os.path.join(shots, f"dashboard-{spec['slug']}-{width}.png"))
            driver.set_window_size(width, 900)


def test_a_live_update_arrives_without_a_reload(live_daphne, browser, platform):
    driver = browser()
    driver.set_window_size(1280, 900)
    log_in(driver, live_daphne, "/monitoring/dashboards/operations/")
    WebDriverWait(driver, 20).until(charts_drawn)
    live = driver.find_element(By.ID, "dashboard-live")
    WebDriverWait(driver, 10).until(lambda d: live.get_attribute("data-connected") == "true")
    card = Widget.objects.get(dashboard__slug="operations", title="Alerts firing")
    value = driver.find_element(By.CSS_SELECTOR, f"#widget-{card.pk} .metric-value")
    assert value.text == "0"
    driver.execute_script("window.stillThisPage = true;")

    rule = AlertRule.objects.create(name="Errors", metric="http_error_rate", threshold=1)
    Alert.objects.create(rule=rule, state="firing", started_at=timezone.now(), value=7)
    assert services.dashboards_refresh() == 1

    shown = f"return document.querySelector('#widget-{card.pk} .metric-value').textContent"
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(shown) == "1")
    assert live.get_attribute("data-updates") == "1"
    assert driver.execute_script("return window.stillThisPage === true;")
    listed = Widget.objects.get(dashboard__slug="operations", title="Open alerts")
    table = driver.find_element(By.ID, f"widget-{listed.pk}")
    assert "Errors" in table.text and "firing" in table.text
    shots = os.environ.get("MYSETLIST_SCREENSHOTS")
    if shots:
        driver.save_screenshot(os.path.join(shots, "dashboard-live-update-1280.png"))

"""A daily report as staff read it in headless Chromium, at a phone's width and a desktop's:
its charts drawn, its tables readable, its downloads linked, nothing wider than the window."""

import os

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from monitoring.reports import services
from tests.monitoring.test_reports import data_on, yesterday
from tests.setlists.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("width", [390, 1280])
def test_staff_read_a_daily_report_with_its_charts(live_daphne, browser, transactional_db, width):
    start, _, _ = data_on(*yesterday())
    report, _ = services.report_generate(kind="daily", day=start.date())
    UserFactory(username="staffer", is_staff=True)
    driver = browser()
    driver.set_window_size(width, 900)
    path = f"/monitoring/reports/{report.pk}/"
    driver.get(f"{live_daphne}/accounts/login/?next={path}")
    driver.find_element(By.NAME, "username").send_keys("staffer")
    driver.find_element(By.NAME, "password").send_keys("correct horse battery")
    driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith(path))

    charts = driver.find_elements(By.CSS_SELECTOR, "[data-figure]")
    assert charts
    WebDriverWait(driver, 20).until(
        lambda d: all("js-plotly-plot" in c.get_attribute("class") for c in charts)
    )
    for chart in charts:
        assert chart.find_elements(By.CSS_SELECTOR, "svg.main-svg")
        assert chart.rect["x"] >= 0 and chart.rect["x"] + chart.rect["width"] <= width
    page = driver.find_element(By.TAG_NAME, "main").text
    assert report.title in driver.page_source and "Big Band" in page
    for format in ("csv", "json", "xlsx", "pdf"):
        assert driver.find_elements(By.CSS_SELECTOR, f'a[href$="/export/{format}/"]')
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    shots = os.environ.get("MYSETLIST_SCREENSHOTS")
    if shots:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(height + 140, 8000))
        driver.save_screenshot(os.path.join(shots, f"report-daily-{width}.png"))

"""What browser tests of pages share: logging in as a person does, whole-page screenshots
under var/screenshots/, and finding what makes a page scroll sideways."""

import os
from pathlib import Path

from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("MYSETLIST_SCREENSHOTS") or ROOT / "var" / "screenshots")
PASSWORD = "correct horse battery"  # the factories' password


def log_in(driver, base_url: str, username: str) -> None:
    driver.get(f"{base_url}{reverse('users:login')}")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url == f"{base_url}/")


def screenshot(driver, name: str, width: int) -> Path:
    """Save the whole page, as tall as it is, to var/screenshots/<name>-<width>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 700) + 140, 6000))
    path = SCREENSHOTS / f"{name}-{width}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(width, 900)
    return path


def sideways_overflow(driver) -> list[str]:
    """Return the elements wider than the window (the page would scroll sideways)."""
    return driver.execute_script(
        """
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        return [...document.querySelectorAll("body *")]
          .filter((el) => el.getBoundingClientRect().right > width + 1)
          .slice(0, 8).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
            + (el.className && typeof el.className === "string" ? "." + el.className : ""));
        """
    )

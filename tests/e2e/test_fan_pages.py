"""The inbox and the preferences page in a browser, as a fan uses them on a phone and a
desktop: live items written as loaded ones, real buttons, a grid of choices, a time zone."""

import re
import zoneinfo

import pytest
from django.conf import settings
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from notifications.delivery.outbox import deliveries_send
from notifications.models import Delivery, Notification, NotificationPreference
from notifications.services import notify
from tests.e2e.axe import assert_accessible
from tests.e2e.pages import log_in, screenshot, sideways_overflow
from tests.setlists.factories import ShowFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WHEN = re.compile(r"^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d\d:\d\d$")


def tell(fan, show, key: str) -> None:
    notify(category="voting_opened", user_ids=[fan.pk], key=key,
           context={"show": str(show), "url": show.get_absolute_url()})  # fmt: skip


def times(driver) -> list[str]:
    return [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#inbox time")]


@pytest.mark.parametrize("width", [390, 1280])
def test_a_live_inbox_item_reads_like_a_loaded_one(live_daphne, browser, width):
    if not settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis."):
        pytest.skip("the test process reaches daphne's websockets through Redis (set REDIS_URL)")
    fan = UserFactory(username="fan", timezone=zoneinfo.ZoneInfo("America/Los_Angeles"))
    show = ShowFactory(voting_open=True)
    tell(fan, show, "loaded")
    Delivery.objects.filter(channel="in_app").update(status="delivered")
    driver = browser()
    driver.set_window_size(width, 900)
    log_in(driver, live_daphne, "fan")
    driver.get(f"{live_daphne}/notifications/")
    badge = driver.find_element(By.CSS_SELECTOR, "[data-inbox-count]")
    WebDriverWait(driver, 10).until(lambda d: badge.text == "1")  # the socket is open

    tell(fan, show, "live")
    waiting = Delivery.objects.filter(channel="in_app", notification__key__startswith="live:")
    deliveries_send(ids=list(waiting.values_list("pk", flat=True)))
    WebDriverWait(driver, 10).until(lambda d: len(times(d)) == 2)

    live, loaded = times(driver)
    assert WHEN.match(loaded), loaded
    assert WHEN.match(live), live
    # Both in the fan's zone: a minute or two apart at most, not the 8 hours to UTC.
    assert live[:-6] == loaded[:-6] or abs(int(live[-5:-3]) - int(loaded[-5:-3])) <= 1
    stamp = Notification.objects.get(key__startswith="live:").created_at.astimezone(fan.timezone)
    assert live == f"{stamp.day} {stamp:%b %Y, %H:%M}"
    # The live item has the same buttons, and they look like buttons.
    buttons = driver.find_elements(By.CSS_SELECTOR, "#inbox li:first-child button")
    assert [b.text for b in buttons] == ["Mark read", "Dismiss"]
    style = driver.execute_script(
        "const s = getComputedStyle(arguments[0]);"
        "return [s.borderTopStyle, s.borderTopWidth, s.backgroundColor];",
        buttons[0],
    )
    assert style[0] == "solid" and style[1] != "0px" and style[2] == "rgb(255, 255, 255)"
    assert buttons[0].rect["height"] >= 36  # a thumb can hit it
    screenshot(driver, "inbox-live", width)
    assert_accessible(driver, where=f"inbox with a live item at {width} px")


def test_inbox_buttons_work_from_the_keyboard_with_a_visible_focus(live_daphne, browser):
    fan = UserFactory(username="fan")
    show = ShowFactory(voting_open=True)
    tell(fan, show, "one")
    Delivery.objects.filter(channel="in_app").update(status="delivered")
    driver = browser()
    driver.set_window_size(390, 900)
    log_in(driver, live_daphne, "fan")
    driver.get(f"{live_daphne}/notifications/")
    mark_read = driver.find_element(By.CSS_SELECTOR, "#inbox button[data-action=read]")

    for _ in range(40):  # Tab along the page until the button has the focus
        if driver.switch_to.active_element == mark_read:
            break
        ActionChains(driver).send_keys(Keys.TAB).perform()
    assert driver.switch_to.active_element == mark_read
    outline = driver.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth];",
        mark_read,
    )
    assert outline == ["solid", "3px"]
    screenshot(driver, "inbox-focus", 390)
    ActionChains(driver).send_keys(Keys.ENTER).perform()

    WebDriverWait(driver, 10).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#inbox li.unread")
    )
    assert Notification.objects.get(key__startswith="one:").read_at is not None


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(live_daphne, browser):
    driver = browser()
    driver.set_window_size(390, 900)
    driver.get(f"{live_daphne}/")

    ActionChains(driver).send_keys(Keys.TAB).perform()
    skip = driver.switch_to.active_element
    assert skip.text == "Skip to content" and skip.is_displayed()
    assert skip.rect["y"] >= 0  # shown on screen when focused
    ActionChains(driver).send_keys(Keys.ENTER).perform()

    assert driver.switch_to.active_element.get_attribute("id") == "main"


@pytest.mark.parametrize("width", [390, 1280])
def test_a_fan_sets_a_time_zone_and_unticks_a_channel_on_the_grid(live_daphne, browser, width):
    fan = UserFactory(username="fan")
    driver = browser()
    driver.set_window_size(width, 900)
    log_in(driver, live_daphne, "fan")
    driver.get(f"{live_daphne}/notifications/preferences/")
    headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers == ["Notification", "Email", "Web push", "In-app", "SMS"]
    assert sideways_overflow(driver) == []

    zone = driver.find_element(By.NAME, "timezone")
    zone.clear()
    zone.send_keys("Europe/Berlinn")
    # The cell is the checkbox's label: a tap anywhere in it unticks it.
    driver.find_element(By.CSS_SELECTOR, "label[for=id_enabled_voting_opened_sms]").click()
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

    # The answer is a new page: wait for it, as for the saved message below.
    error = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, ".errorlist"))
    assert "“Europe/Berlinn” is not a time zone name" in error.text
    zone = driver.find_element(By.NAME, "timezone")
    assert zone.get_attribute("aria-invalid") == "true"
    assert not driver.find_element(By.ID, "id_enabled_voting_opened_sms").is_selected()
    screenshot(driver, "preferences-error", width)
    assert_accessible(driver, where=f"preferences with an error at {width} px")
    assert not NotificationPreference.objects.filter(user=fan, disabled__len__gt=0).exists()

    zone.clear()
    zone.send_keys("Europe/Berlin", Keys.ESCAPE)  # and close the suggestions
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

    # The error page has a message too ("Nothing was saved"): wait for the new page's.
    WebDriverWait(driver, 10, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: "settings are saved" in d.find_element(By.CSS_SELECTOR, ".messages").text
    )
    fan.refresh_from_db()
    assert str(fan.timezone) == "Europe/Berlin"
    assert NotificationPreference.objects.get(user=fan).disabled == ["voting_opened:sms"]

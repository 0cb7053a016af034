"""What a fan sees: a vote in one browser moves the count in another, live."""

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from mysetlist.setlists.models import Vote
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def log_in(driver, base_url, username):
    driver.get(f"{base_url}/accounts/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys("correct horse battery")
    driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(driver, 10).until(ec.url_to_be(f"{base_url}/"))


def wait_live(driver):
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-live") == "true"
    )


def cell(driver, song, name):
    """Return a count shown in the song's line of the ballot (up, down or score)."""
    selector = ".score .n" if name == "score" else f".{name}"
    return driver.find_element(By.CSS_SELECTOR, f'li[data-song-id="{song.pk}"] {selector}').text


def test_a_vote_in_one_browser_updates_the_count_in_another(live_daphne, browser):
    show = ShowFactory(voting_open=True)
    song = SongFactory(artist=show.artist, title="Live Wire")
    SongFactory(artist=show.artist, title="Other Song")
    UserFactory(username="voter")
    show_url = f"{live_daphne}/shows/{show.pk}/"

    watcher = browser()
    watcher.get(show_url)
    wait_live(watcher)
    assert cell(watcher, song, "up") == "0"

    voter = browser()
    log_in(voter, live_daphne, "voter")
    voter.get(show_url)
    wait_live(voter)
    voter.find_element(By.CSS_SELECTOR, f'li[data-song-id="{song.pk}"] button.vote-up').click()
    clicked = time.monotonic()

    WebDriverWait(watcher, 5, poll_frequency=0.02).until(lambda d: cell(d, song, "up") == "1")
    print(f"\nvote seen in the other browser after {(time.monotonic() - clicked) * 1000:.0f} ms")

    assert cell(watcher, song, "score") == "1"
    assert Vote.objects.get(song=song).value == 1
    WebDriverWait(voter, 5).until(
        lambda d: (
            "chosen"
            in d.find_element(
                By.CSS_SELECTOR, f'li[data-song-id="{song.pk}"] button.vote-up'
            ).get_attribute("class")
        )
    )

    # Clicking the chosen button again withdraws the vote; the watcher sees that too.
    voter.find_element(By.CSS_SELECTOR, f'li[data-song-id="{song.pk}"] button.vote-up').click()
    WebDriverWait(watcher, 5, poll_frequency=0.02).until(lambda d: cell(d, song, "up") == "0")
    assert not Vote.objects.exists()

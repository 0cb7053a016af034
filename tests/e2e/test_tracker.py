"""The tracker script in a real browser: clicks, Web Vitals and time on page reach storage."""

import time

import pytest
from selenium.webdriver.common.by import By

from analytics.models import Event
from tests.setlists.factories import ShowFactory, SongFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Headless Chromium says so in its user agent, and the bot filter rightly drops it.
PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0"


def wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_tracker_sends_clicks_vitals_and_page_leave(web_tracker_key, live_daphne, browser):
    show = ShowFactory(voting_open=True)
    SongFactory(artist=show.artist)
    window = browser(user_agent=PERSON)

    window.get(f"{live_daphne}/shows/{show.pk}/")
    window.find_element(By.CSS_SELECTOR, "[data-track=show-artist-link]").click()

    names = {"$click", "$web_vitals", "$pageleave"}
    assert wait_for(lambda: names <= set(Event.objects.values_list("event", flat=True)))
    click = Event.objects.get(event="$click")
    assert click.properties["name"] == "show-artist-link"
    assert click.properties["path"] == f"/shows/{show.pk}/"
    vitals = Event.objects.get(event="$web_vitals").properties
    assert vitals["ttfb"] >= 0 and vitals["lcp"] > 0 and vitals["cls"] >= 0
    session = {e.properties["$session_id"] for e in Event.objects.exclude(event="$pageview")}
    assert len(session) == 1
    page_views = Event.objects.filter(event="$pageview")  # counted by the server, once each
    assert page_views.count() == 2
    assert set(page_views.values_list("distinct_id", flat=True)) == {click.distinct_id}


def test_tracker_sends_nothing_without_consent(web_tracker_key, live_daphne, browser):
    show = ShowFactory(voting_open=True)
    window = browser(user_agent=PERSON)
    window.get(f"{live_daphne}/")
    window.add_cookie({"name": "mysetlist_consent", "value": "denied", "path": "/"})

    window.get(f"{live_daphne}/shows/{show.pk}/")
    window.find_element(By.CSS_SELECTOR, "[data-track=show-artist-link]").click()
    window.get(f"{live_daphne}/")

    time.sleep(1.5)  # long enough for a beacon to land, had one been sent
    assert not Event.objects.exclude(event="$pageview").exists()
    assert Event.objects.filter(event="$pageview").count() == 1  # before consent was refused

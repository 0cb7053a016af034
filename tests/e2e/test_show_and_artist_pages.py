"""A fan's journeys through the show and artist pages, at a phone's width and a desktop's:
voting with a thumb, finding songs, counts arriving live without the page jumping, a played
show's outcome, an artist's shows a page at a time, following."""

import datetime
import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from mysetlist.setlists import services
from mysetlist.setlists.models import Follow, Show, Vote
from tests.e2e.test_live_vote import log_in, wait_live
from tests.setlists.factories import (
    ArtistFactory,
    SetlistEntryFactory,
    ShowFactory,
    SongFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = [390, 1280]

# Run before the page's own scripts: keeps the page's websockets reachable, so a test can
# hand the page a frame of the contract the server sends (presence, batched tallies).
KEEP_SOCKETS = """
window.__sockets = [];
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = new Native(url, protocols);
  window.__sockets.push(socket);
  return socket;
};
window.WebSocket.prototype = Native.prototype;
"""


def screenshot(driver, name):
    folder = Path(os.environ.get("MYSETLIST_SCREENSHOTS") or settings.BASE_DIR / "var/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(driver.get_window_size()["width"], 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(driver.get_window_size()["width"], min(height + 140, 4000))
    driver.save_screenshot(str(folder / name))


def window(browser, width):
    driver = browser()
    driver.set_window_size(width, 900)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": KEEP_SOCKETS})
    return driver


def no_sideways_scroll(driver):
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def line(driver, song):
    return driver.find_element(By.CSS_SELECTOR, f'#ballot li[data-song-id="{song.pk}"]')


def pressed(driver, value):
    """Wait until the follow button, on the page the form post loads, is pressed or not."""
    WebDriverWait(driver, 5, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.ID, "follow-button").get_attribute("aria-pressed") == value
    )


def visible_titles(driver):
    return [
        el.text for el in driver.find_elements(By.CSS_SELECTOR, "#ballot li:not([hidden]) .title")
    ]


@pytest.fixture
def big_show(transactional_db):
    """An open show of an artist with 60 songs, some played before, some voted on."""
    show = ShowFactory(voting_open=True)
    songs = [SongFactory(artist=show.artist, title=f"Track {n:02d}") for n in range(1, 59)]
    songs.append(SongFactory(artist=show.artist, title="Ångström Waltz"))
    songs.append(
        SongFactory(artist=show.artist, title="A song with a very long title that has to wrap")
    )
    past = ShowFactory(
        artist=show.artist, status=Show.Status.COMPLETED, date=datetime.date(2025, 5, 1)
    )
    for position, song in enumerate(songs[:30], start=1):
        SetlistEntryFactory(show=past, song=song, position=position)
    for n, song in enumerate(songs[:5]):
        for _ in range(5 - n):
            services.vote_cast(user=UserFactory(), show_id=show.pk, song_id=song.pk, value=1)
    UserFactory(username="fan")
    return show, songs


@pytest.mark.parametrize("width", WIDTHS)
def test_a_fan_votes_with_a_thumb_and_sees_the_vote_after_reload(
    live_daphne, browser, big_show, width
):
    show, songs = big_show
    target = songs[40]
    driver = window(browser, width)
    log_in(driver, live_daphne, "fan")
    driver.get(f"{live_daphne}/shows/{show.pk}/")
    wait_live(driver)

    assert no_sideways_scroll(driver)
    button = line(driver, target).find_element(By.CSS_SELECTOR, "button.vote-up")
    rect = button.rect
    assert rect["width"] >= 44 and rect["height"] >= 44
    assert rect["x"] >= 0 and rect["x"] + rect["width"] <= width  # within the window, no cut
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    WebDriverWait(driver, 5).until(lambda d: line(d, target).get_attribute("data-my-vote") == "1")
    assert Vote.objects.get(song=target, user__username="fan").value == 1

    # Keyboard alone: Tab to the down button of another song, then Enter.
    other = songs[41]
    down = line(driver, other).find_element(By.CSS_SELECTOR, "button.vote-down")
    up = line(driver, other).find_element(By.CSS_SELECTOR, "button.vote-up")
    driver.execute_script("arguments[0].focus()", up)
    up.send_keys(Keys.TAB)
    assert driver.switch_to.active_element == down
    outline = driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", down)
    assert outline == "solid"  # the focus is visible
    down.send_keys(Keys.ENTER)
    WebDriverWait(driver, 5).until(lambda d: line(d, other).get_attribute("data-my-vote") == "-1")

    driver.refresh()
    wait_live(driver)
    voted_up = line(driver, target).find_element(By.CSS_SELECTOR, "button.vote-up")
    assert "chosen" in voted_up.get_attribute("class")
    assert voted_up.get_attribute("aria-pressed") == "true"
    assert line(driver, other).get_attribute("data-my-vote") == "-1"
    # The three filters sit on one row, each a thumb's height, and are reached by keyboard.
    segments = driver.find_elements(By.CSS_SELECTOR, ".ballot-only label")
    assert [el.text for el in segments] == ["All", "My votes", "Never played live"]
    assert len({el.rect["y"] for el in segments}) == 1
    assert all(el.rect["height"] >= 44 for el in segments)
    assert segments[-1].rect["x"] + segments[-1].rect["width"] <= width
    # "My votes", chosen with the arrow key from "All", keeps exactly the fan's two songs.
    everything = driver.find_element(By.CSS_SELECTOR, "input[name=only][value='']")
    driver.execute_script("arguments[0].focus()", everything)
    everything.send_keys(Keys.ARROW_RIGHT)
    mine = driver.find_element(By.CSS_SELECTOR, "input[name=only][value=mine]")
    WebDriverWait(driver, 5).until(lambda d: mine.is_selected())
    assert driver.switch_to.active_element == mine
    ring = "return getComputedStyle(arguments[0].parentElement).outlineStyle"
    assert driver.execute_script(ring, mine) == "solid"  # the focus is visible on its segment
    assert sorted(visible_titles(driver)) == sorted([target.title, other.title])
    assert driver.find_element(By.ID, "ballot-count").text == "2 of 60 songs"
    assert no_sideways_scroll(driver)
    driver.find_element(By.CSS_SELECTOR, "input[name=only][value='']").find_element(
        By.XPATH, ".."
    ).click()
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, f"show-{width}.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_fan_votes_and_filters_without_javascript(live_daphne, browser, big_show, width):
    show, songs = big_show
    target = songs[50]
    driver = window(browser, width)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    log_in(driver, live_daphne, "fan")
    driver.get(f"{live_daphne}/shows/{show.pk}/")
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-live") is None
    assert no_sideways_scroll(driver)

    button = line(driver, target).find_element(By.CSS_SELECTOR, "button.vote-up")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()  # the form posts; the page comes back at the song

    WebDriverWait(driver, 5).until(lambda d: d.current_url.endswith(f"#song-{target.pk}"))
    assert line(driver, target).get_attribute("data-my-vote") == "1"
    assert line(driver, target).find_element(By.CSS_SELECTOR, ".up").text == "1"
    assert Vote.objects.get(song=target, user__username="fan").value == 1
    screenshot(driver, f"show-nojs-{width}.png")

    # The filter form asks the server.
    driver.find_element(By.ID, "song-filter").send_keys("track 5")
    driver.find_element(By.CSS_SELECTOR, "#ballot-tools .ballot-apply").click()
    WebDriverWait(driver, 5).until(lambda d: "q=track+5" in d.current_url)
    titles = [el.text for el in driver.find_elements(By.CSS_SELECTOR, "#ballot .title")]
    assert titles and all(title.startswith("Track 5") for title in titles)
    assert len(titles) == 9  # Track 50 to Track 58


@pytest.mark.parametrize("width", WIDTHS)
def test_songs_are_found_by_text_and_by_never_played(live_daphne, browser, big_show, width):
    show, songs = big_show
    driver = window(browser, width)
    driver.get(f"{live_daphne}/shows/{show.pk}/")
    box = driver.find_element(By.ID, "song-filter")
    box.send_keys("angstrom")  # accents and case ignored
    assert visible_titles(driver) == ["Ångström Waltz"]
    assert driver.find_element(By.ID, "ballot-count").text == "1 of 60 songs"
    box.clear()
    box.send_keys("zzz")
    assert visible_titles(driver) == []
    assert driver.find_element(By.ID, "ballot-empty").is_displayed()
    screenshot(driver, f"show-filter-empty-{width}.png")
    box.send_keys(Keys.BACKSPACE * 3)
    driver.find_element(By.CSS_SELECTOR, "input[name=only][value=unplayed]").find_element(
        By.XPATH, ".."
    ).click()
    titles = visible_titles(driver)
    assert len(titles) == 30 and songs[0].title not in titles and songs[45].title in titles
    assert no_sideways_scroll(driver)


@pytest.mark.parametrize("width", WIDTHS)
def test_live_counts_arrive_without_moving_the_page(live_daphne, browser, big_show, width):
    show, songs = big_show
    bottom = songs[-1]  # the long title, last on the ballot with no votes
    driver = window(browser, width)
    driver.get(f"{live_daphne}/shows/{show.pk}/")
    wait_live(driver)
    order = [
        el.get_attribute("data-song-id")
        for el in driver.find_elements(By.CSS_SELECTOR, "#ballot li")
    ]
    geometry = (
        "return Array.from(document.querySelectorAll('#ballot li')).map((el) => {"
        " const r = el.getBoundingClientRect(); return [r.top, r.height, r.width]; })"
    )
    driver.execute_script("window.scrollTo(0, 400)")
    before = driver.execute_script(geometry)
    resort = driver.find_element(By.ID, "ballot-resort")
    assert resort.is_displayed() and not resort.is_enabled()

    # Ten fans vote for the last song: its counts reach two digits, live.
    for _ in range(10):
        services.vote_cast(user=UserFactory(), show_id=show.pk, song_id=bottom.pk, value=1)
    WebDriverWait(driver, 5, poll_frequency=0.05).until(
        lambda d: line(d, bottom).find_element(By.CSS_SELECTOR, ".up").text == "10"
    )
    assert line(driver, bottom).find_element(By.CSS_SELECTOR, ".score .n").text == "10"
    assert driver.execute_script(geometry) == before  # nothing moved, not even a pixel
    assert [
        el.get_attribute("data-song-id")
        for el in driver.find_elements(By.CSS_SELECTOR, "#ballot li")
    ] == order
    assert resort.is_enabled()  # the fan may re-sort when they choose

    # The new batched frame and presence, as the server sends them (handed to the page's socket).
    frames = [
        {"type": "presence", "show_id": show.pk, "count": 1234},
        {
            "type": "tallies",
            "show_id": show.pk,
            "tallies": [
                {"song_id": bottom.pk, "upvotes": 99, "downvotes": 1, "score": 98, "version": 999},
                {"song_id": songs[0].pk, "upvotes": 0, "downvotes": 0, "score": 0, "version": 0},
            ],
        },
    ]
    for frame in frames:
        driver.execute_script(
            "window.__sockets.at(-1).onmessage({data: arguments[0]})", json.dumps(frame)
        )
    assert driver.find_element(By.CSS_SELECTOR, "[data-presence]").text == "1234 fans here now"
    assert line(driver, bottom).find_element(By.CSS_SELECTOR, ".up").text == "99"
    assert line(driver, songs[0]).find_element(By.CSS_SELECTOR, ".up").text == "5"  # stale: kept
    assert driver.execute_script(geometry) == before

    resort.click()
    first = driver.find_element(By.CSS_SELECTOR, "#ballot li")
    assert first.get_attribute("data-song-id") == str(bottom.pk)
    assert not resort.is_enabled()

    # Voting closes: the pill reads its label and changes colour, the buttons are gone.
    services.show_transition(show=show, status=Show.Status.LOCKED)
    pill = driver.find_element(By.ID, "show-status")
    WebDriverWait(driver, 5).until(lambda d: pill.text == "Locked")
    assert "status-locked" in pill.get_attribute("class")
    assert driver.find_element(By.ID, "ballot").get_attribute("data-voting-open") == "false"
    assert no_sideways_scroll(driver)
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, f"show-live-{width}.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_voting_opens_live_with_its_label_and_colour(live_daphne, browser, transactional_db, width):
    show = ShowFactory()  # announced
    song = SongFactory(artist=show.artist)
    UserFactory(username="fan")
    driver = window(browser, width)
    log_in(driver, live_daphne, "fan")
    driver.get(f"{live_daphne}/shows/{show.pk}/")
    wait_live(driver)
    pill = driver.find_element(By.ID, "show-status")
    assert pill.text == "Announced"
    up = line(driver, song).find_element(By.CSS_SELECTOR, "button.vote-up")
    assert not up.is_enabled()
    colour = pill.value_of_css_property("background-color")

    services.show_transition(show=show, status=Show.Status.VOTING_OPEN)

    WebDriverWait(driver, 5).until(lambda d: pill.text == "Voting open")
    assert pill.get_attribute("class") == "status status-voting_open"
    assert pill.value_of_css_property("background-color") != colour
    assert up.is_enabled()
    assert "Voting is open" in driver.find_element(By.CSS_SELECTOR, ".ballot-help").text
    up.click()
    WebDriverWait(driver, 5).until(lambda d: line(d, song).get_attribute("data-my-vote") == "1")
    assert no_sideways_scroll(driver)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_show_ending_while_open_links_to_its_setlist(
    live_daphne, browser, transactional_db, width
):
    show = ShowFactory(status=Show.Status.VOTING_OPEN)
    songs = SongFactory.create_batch(3, artist=show.artist)
    driver = window(browser, width)
    driver.get(f"{live_daphne}/shows/{show.pk}/")
    wait_live(driver)
    assert not driver.find_elements(By.ID, "show-over")

    services.show_transition(show=show, status=Show.Status.LOCKED)
    for position, song in enumerate(songs[:2], start=1):
        SetlistEntryFactory(show=show, song=song, position=position)
    services.show_transition(show=show, status=Show.Status.COMPLETED)

    link = WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, "show-over"))
    assert driver.find_element(By.ID, "show-status").text == "Completed"
    assert driver.find_elements(By.ID, "ballot")  # the page stays as it was until asked
    screenshot(driver, f"show-over-{width}.png")
    link.send_keys(Keys.ENTER)  # a keyboard user follows it too
    WebDriverWait(driver, 5).until(lambda d: not d.find_elements(By.ID, "ballot"))
    setlist = driver.find_elements(By.CSS_SELECTOR, "#setlist ol.setlist li .song")
    assert [el.text for el in setlist] == [song.title for song in songs[:2]]
    assert no_sideways_scroll(driver)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_played_show_compares_votes_and_prediction_with_the_setlist(
    live_daphne, browser, transactional_db, width
):
    from predictions import services as predictions_services
    from tests.predictions.factories import band_show_open

    show = band_show_open()
    artist = show.artist
    predictions_services.predictions_refresh()
    catalogue = list(artist.songs.order_by("title"))
    wanted, ignored = catalogue[:3], catalogue[-1]
    for song in wanted:
        services.vote_cast(user=UserFactory(), show_id=show.pk, song_id=song.pk, value=1)
    services.vote_cast(user=UserFactory(), show_id=show.pk, song_id=ignored.pk, value=1)
    services.vote_cast(user=UserFactory(), show_id=show.pk, song_id=ignored.pk, value=1)
    services.show_transition(show=show, status=Show.Status.LOCKED)
    played = [*wanted[:2], catalogue[5], catalogue[6]]
    for position, song in enumerate(played, start=1):
        SetlistEntryFactory(show=show, song=song, position=position)
    services.show_transition(show=show, status=Show.Status.COMPLETED)

    driver = window(browser, width)
    driver.get(f"{live_daphne}/shows/{show.pk}/")
    assert driver.find_element(By.ID, "show-status").text == "Completed"
    assert not driver.find_elements(By.ID, "ballot")  # no ballot of final counts
    assert not driver.find_elements(By.ID, "live")
    setlist = driver.find_elements(By.CSS_SELECTOR, "#setlist ol.setlist li .song")
    assert [el.text for el in setlist] == [song.title for song in played]
    # The fans' top four (the setlist's length): the ignored song first (score 2), then the
    # three wanted ones (score 1 each); two of those were played.
    fans = driver.find_elements(By.CSS_SELECTOR, "#fans-top li")
    assert fans[0].get_attribute("data-song-id") == str(ignored.pk)
    assert {el.get_attribute("data-song-id") for el in fans[1:]} == {str(s.pk) for s in wanted}
    played_ids = {str(song.pk) for song in played}
    for el in fans:
        expected = "hit" if el.get_attribute("data-song-id") in played_ids else "miss"
        assert el.get_attribute("class") == expected
    assert "2 of 4" in driver.find_element(By.ID, "fans-summary").text
    predicted = driver.find_elements(By.CSS_SELECTOR, "#predicted li")
    assert len(predicted) == 17
    hits = [el for el in predicted if el.get_attribute("class") == "hit"]
    summary = driver.find_element(By.ID, "prediction-summary").text
    assert f"{len(hits)} of 17" in summary
    marked = driver.find_elements(By.CSS_SELECTOR, "#setlist li .mark-predicted")
    assert len(marked) == len(hits)
    assert no_sideways_scroll(driver)
    screenshot(driver, f"show-completed-{width}.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_artist_pages_through_shows_and_is_followed(
    live_daphne, browser, transactional_db, width
):
    artist = ArtistFactory(name="Paged Band")
    today = datetime.date.today()
    for n in range(25):
        ShowFactory(artist=artist, date=today + datetime.timedelta(days=n + 1))
    for n in range(45):
        ShowFactory(
            artist=artist, date=today - datetime.timedelta(days=n + 1), status=Show.Status.COMPLETED
        )
    UserFactory(username="fan")
    driver = window(browser, width)
    log_in(driver, live_daphne, "fan")
    driver.get(f"{live_daphne}{artist.get_absolute_url()}")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#upcoming .shows li")) == 20
    assert len(driver.find_elements(By.CSS_SELECTOR, "#past .shows li")) == 20
    assert no_sideways_scroll(driver)
    screenshot(driver, f"artist-{width}.png")

    driver.find_element(By.CSS_SELECTOR, "#upcoming .pager a[rel=next]").click()
    assert len(driver.find_elements(By.CSS_SELECTOR, "#upcoming .shows li")) == 5
    assert "Page 2 of 2" in driver.find_element(By.CSS_SELECTOR, "#upcoming .pager").text
    driver.find_element(By.CSS_SELECTOR, "#past .pager a[rel=next]").click()
    assert "upcoming_page=2" in driver.current_url and "past_page=2" in driver.current_url
    assert len(driver.find_elements(By.CSS_SELECTOR, "#upcoming .shows li")) == 5
    assert "Page 2 of 3" in driver.find_element(By.CSS_SELECTOR, "#past .pager").text
    oldest_on_page = driver.find_elements(By.CSS_SELECTOR, "#past .shows li .show-date")[-1].text
    assert oldest_on_page == (today - datetime.timedelta(days=40)).strftime("%a %-d %b %Y")

    follow = driver.find_element(By.ID, "follow-button")
    assert follow.rect["height"] >= 44
    follow.click()
    pressed(driver, "true")
    assert Follow.objects.filter(user__username="fan", artist=artist).exists()
    assert "You follow Paged Band." in driver.find_element(By.CSS_SELECTOR, ".messages").text
    screenshot(driver, f"artist-following-{width}.png")
    driver.find_element(By.ID, "follow-button").click()
    pressed(driver, "false")
    assert not Follow.objects.filter(user__username="fan").exists()

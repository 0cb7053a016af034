"""The site's main pages as a phone and a desktop show them: axe-core's WCAG 2.1 A and AA
rules pass, nothing scrolls sideways, and a screenshot of each is kept."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from mysetlist.setlists.models import Artist, Show
from mysetlist.setlists.services import vote_cast
from notifications.models import Delivery
from notifications.services import notify
from tests.e2e.axe import axe_violations, violations_report
from tests.e2e.pages import log_in, screenshot, sideways_overflow
from tests.setlists.factories import (
    ArtistFactory,
    SetlistEntryFactory,
    ShowFactory,
    SongFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = [390, 1280]
FAN = "fan"


@dataclass(frozen=True)
class Page:
    """A page to check: its name (in screenshots and failures), a function returning its path
    (it may make what the page shows first), and whether the fan is signed in to see it."""

    name: str
    path: Callable[[], str]
    signed_in: bool = False


def _show(artist: str) -> str:
    return Show.objects.filter(artist__name=artist).first().get_absolute_url()


# One line per page.
PAGES = [
    Page("home", lambda: reverse("setlists:artist-list")),
    Page("log-in", lambda: reverse("users:login")),
    Page("sign-up", lambda: reverse("users:signup")),
    Page("inbox", lambda: reverse("notifications:inbox"), signed_in=True),
    Page("preferences", lambda: reverse("notifications:preferences"), signed_in=True),
    Page("not-allowed", lambda: reverse("predictions:staff"), signed_in=True),  # a fan: 403
    Page(
        "artist", lambda: Artist.objects.get(name="Paper Kites").get_absolute_url(), signed_in=True
    ),  # fmt: skip
    Page("show", lambda: _show("Paper Kites")),
    Page("show-ballot", lambda: _show("Paper Kites"), signed_in=True),  # with vote buttons
    Page("show-played", lambda: _show("Neon Choir")),  # the setlist against the votes
]


@pytest.fixture
def site(live_daphne):
    """What the pages show: artists with songs and shows, and a fan with an inbox."""
    for name in ("The Lanterns", "Harbour Lights", "Neon Choir"):
        artist = ArtistFactory(name=name)
        SongFactory.create_batch(3, artist=artist)
        ShowFactory(artist=artist, voting_open=True)
    fan = UserFactory(username=FAN)
    show = ShowFactory(artist__name="Paper Kites", voting_open=True)
    for song in SongFactory.create_batch(12, artist=show.artist):
        vote_cast(user=fan, show_id=show.pk, song_id=song.pk, value=1 if song.pk % 2 else -1)
    played = Show.objects.get(artist__name="Neon Choir")
    for position, song in enumerate(played.artist.songs.all(), start=1):
        SetlistEntryFactory(show=played, song=song, position=position)
    Show.objects.filter(pk=played.pk).update(status=Show.Status.COMPLETED)
    for n, category in enumerate(["voting_opened", "voting_closing"]):
        notify(category=category, user_ids=[fan.pk], key=f"a11y:{n}",
               context={"show": str(show), "url": show.get_absolute_url()})  # fmt: skip
    Delivery.objects.filter(channel="in_app").update(status="delivered")
    return live_daphne


@pytest.mark.parametrize("width", WIDTHS)
def test_main_pages_pass_axe_and_fit_the_window(site, browser, width):
    visitor, fan = browser(), browser()
    log_in(fan, site, FAN)
    problems = []
    for page in PAGES:
        driver = fan if page.signed_in else visitor
        driver.set_window_size(width, 900)
        driver.get(site + page.path())
        assert driver.find_element(By.TAG_NAME, "h1").text, f"{page.name} did not load"
        overflow = sideways_overflow(driver)
        if overflow:
            problems.append(f"{page.name} at {width} px scrolls sideways: {overflow}")
        violations = axe_violations(driver)
        if violations:
            problems.append(violations_report(violations, where=f"{page.name} at {width} px"))
        screenshot(driver, page.name, width)

    assert not problems, "\n\n".join(problems)


def test_the_axe_helper_names_each_broken_rule_and_where(browser):
    driver = browser()
    driver.get(
        "data:text/html,<html><body><img src='x.png'>"
        "<label>Name</label><input id='n'><a href='/'></a></body></html>"
    )

    violations = axe_violations(driver)
    report = violations_report(violations, where="a broken page")

    assert {"html-has-lang", "image-alt", "label", "link-name"} <= {v["id"] for v in violations}
    assert "- image-alt [critical]: Images must have alternative text" in report
    assert "    at img" in report and "    at #n" in report

"""A notification experiment from end to end: staff open voting, the followers are told in
their template variant, some click through and vote, and the results page in a browser names
the variant that converted better, with its charts."""

import os
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from experiments import services as experiments_services
from experiments.models import Exposure, Metric
from mysetlist.setlists import services as setlists_services
from mysetlist.setlists.models import Show
from notifications.content.templates import template_save_version
from notifications.models import Delivery, NotificationTemplate
from tests.setlists.factories import FollowFactory, ShowFactory, SongFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FANS = 300
# Of the fans told in each variant: the share who click through, and of those who vote.
CLICKS = {"control": 0.20, "urgent": 0.60}
VOTES = 0.5


def _share(fans, share):
    return fans[: round(len(fans) * share)]


@pytest.fixture
def experiment_world(transactional_db):
    """A running experiment on the "voting opened" words, and the artist's followers."""
    converted = experiments_services.metric_save(
        metric=Metric(
            key="voted-after-click",
            name="Voted after a click",
            kind=Metric.Kind.NOTIFICATION,
            notification_outcome=Metric.NotificationOutcome.CONVERTED,
        )
    )
    clicked = experiments_services.metric_save(
        metric=Metric(
            key="clicked",
            name="Clicked through",
            kind=Metric.Kind.NOTIFICATION,
            notification_outcome=Metric.NotificationOutcome.CLICKED,
        )
    )
    experiment = experiments_services.experiment_create(
        key="voting-opened-urgency",
        name="Urgent voting-opened words",
        hypothesis="Saying the ballot closes soon gets more fans to vote.",
        surface="notification",
        notification_category="voting_opened",
        primary_metric=converted,
        secondary_metrics=[clicked],
        sequential=False,  # a fixed-horizon test, read once at its planned size
        variants=[
            experiments_services.VariantSpec(key="control", weight=0.5),
            experiments_services.VariantSpec(key="urgent", weight=0.5),
        ],
    )
    experiments_services.experiment_start(experiment=experiment)
    template_save_version(
        template=NotificationTemplate(
            category="voting_opened",
            variant="urgent",
            subject="Last call: vote on {{ artist }}'s setlist now",
            text="Vote now: {{ url }}",
            html='<p><a href="{{ url }}">Vote now</a></p>',
            push_title="Vote now",
            push_body="{{ artist }}",
            in_app_text="Vote now on {{ artist }}",
        )
    )
    show = ShowFactory(status=Show.Status.ANNOUNCED)
    song = SongFactory(artist=show.artist)
    fans = [FollowFactory(artist=show.artist).user for _ in range(FANS)]
    UserFactory(username="analyst", is_staff=True)
    return experiment, show, song, fans


def _fans_act(show, song, fans):
    """Each told fan clicks the link in their email, and some vote: more of the urgent arm."""
    variants = dict(
        Delivery.objects.filter(channel="email").values_list("notification__user_id", "variant")
    )
    links = {}
    for message in mail.outbox:
        (link,) = re.findall(r"https?://\S+/notifications/c/[^\s\"<]+/", message.body)
        links[message.to[0]] = urlsplit(link).path
    for arm, click_share in CLICKS.items():
        told = [f for f in fans if variants.get(f.pk) == arm]
        assert len(told) > 100  # the split gave each arm about half
        clickers = _share(told, click_share)
        for fan in clickers:
            landing = Client().get(links[fan.email])
            assert landing.status_code == 302
        for fan in _share(clickers, VOTES):
            voter = Client()
            voter.force_login(fan)
            cast = voter.post(
                reverse("setlists-api:vote-cast"),
                {"show": show.pk, "song": song.pk, "value": 1},
                content_type="application/json",
            )
            assert cast.status_code == 200, cast.content


@pytest.mark.parametrize("width", [1280, 390])
def test_a_notification_experiment_names_its_winner_on_the_results_page(
    live_daphne, browser, experiment_world, width
):
    experiment, show, song, fans = experiment_world
    # Staff open voting: the followers are told (fan-out, then the email worker).
    setlists_services.show_transition(show=show, status=Show.Status.VOTING_OPEN)
    assert len(mail.outbox) == FANS
    urgent = [m for m in mail.outbox if m.subject.startswith("Last call")]
    assert 100 < len(urgent) < 200
    assert Exposure.objects.count() == FANS
    _fans_act(show, song, fans)

    driver = browser()
    driver.set_window_size(width, 900)
    driver.get(f"{live_daphne}/accounts/login/?next=/experiments/{experiment.key}/results")
    driver.find_element(By.NAME, "username").send_keys("analyst")
    driver.find_element(By.NAME, "password").send_keys("correct horse battery")
    driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    settled = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))
    settled.until(lambda d: "Not computed yet" in d.find_element(By.TAG_NAME, "main").text)
    # Staff compute the results now rather than wait for the quarter-hourly job.
    button = driver.find_element(By.XPATH, "//button[text()='Compute now']")
    button.click()
    settled.until(expected_conditions.staleness_of(button))
    settled.until(lambda d: "Results computed" in d.find_element(By.TAG_NAME, "main").text)

    verdict = driver.find_element(By.ID, "verdict")
    assert "win" in verdict.get_attribute("class").split()
    assert verdict.text.startswith("Urgent beats control on Voted after a click")
    for chart in ("uplift-chart", "exposures-chart", "metric-chart"):
        WebDriverWait(driver, 20).until(
            lambda d, c=chart: "js-plotly-plot" in d.find_element(By.ID, c).get_attribute("class")
        )
        element = driver.find_element(By.ID, chart)
        assert element.rect["x"] >= 0 and element.rect["x"] + element.rect["width"] <= width
    # The uplift chart has the urgent arm's interval; exposures a line per arm.
    assert driver.find_elements(By.CSS_SELECTOR, "#uplift-chart .scatterlayer .trace")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#exposures-chart .trace")) == 2
    table = driver.find_element(By.ID, "results-voted-after-click").text
    assert "urgent" in table and "control" in table
    assert driver.find_element(By.ID, "results-clicked")
    # Nothing makes the page scroll sideways: wide tables scroll in their own box.
    too_wide = driver.execute_script(
        "return [...document.querySelectorAll('main *')]"
        ".filter(e => !(e instanceof SVGElement))"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".filter(e => !e.closest('.scroll-x'))"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 10)"
    )
    assert too_wide == []
    shots = os.environ.get("MYSETLIST_SCREENSHOTS")
    if shots:
        driver.save_screenshot(os.path.join(shots, f"experiment-results-{width}.png"))

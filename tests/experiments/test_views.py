import pytest
from django.test import Client
from django.urls import reverse

from experiments import services as services_module
from experiments.models import Result
from experiments.results import services
from experiments.services import VariantSpec as V
from tests.experiments.factories import experiment
from tests.experiments.results_data import T0, events, expose, metric
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_browser(client, staff):
    client.force_login(staff)
    return client


def results_url(key="cta-copy"):
    return reverse("experiments:experiment-results", kwargs={"key": key})


def refresh_url(key="cta-copy"):
    return reverse("experiments:experiment-results-refresh", kwargs={"key": key})


def with_results(**fields):
    votes = metric(name="Votes")
    running = experiment(primary_metric=votes, **fields)
    rows = []
    for i in range(200):
        variant = i % 2
        expose(running, f"anon-{i}", variant=variant, platform="ios", is_new=i < 50)
        if (variant == 1 and i % 4 == 1) or i % 10 == 0:  # b: 50 of 100, control: 20
            rows.append(("vote_cast", f"anon-{i}", T0, {}))
    events(rows)
    services.results_refresh(experiment=running)
    return running


def test_results_page_is_for_staff_only(client):
    experiment()
    assert client.get(results_url()).status_code == 302  # to the log-in page
    client.force_login(UserFactory())
    assert client.get(results_url()).status_code == 403  # the plain "not allowed" page
    assert client.post(refresh_url()).status_code == 403
    assert not Result.objects.exists()


def test_results_page_shows_the_verdict_tables_and_charts(
    staff_browser, django_assert_max_num_queries
):
    with_results(sequential=False)
    # 7 for the page (session, user, experiment, phase, phases, results, exposures by day),
    # however many metrics and variants; up to 8 for recording the page view and its rollup
    # marks.
    with django_assert_max_num_queries(15):
        response = staff_browser.get(results_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert "B beats control on Votes: +150.0% (95% interval" in page
    assert "chance to beat control" in page and "sequential" not in page.split("<h2>")[0]
    for chart in ("uplift-chart", "exposures-chart", "metric-chart"):
        assert f'id="{chart}"' in page
    assert 'id="results-votes"' in page and 'id="segments-platform"' in page


def test_results_page_reads_the_sequential_figures_when_sequential(staff_browser):
    with_results(sequential=True)
    page = staff_browser.get(results_url()).content.decode()
    assert "sequential 95% interval" in page and "sequential p" in page


def test_results_page_says_what_is_missing_in_words(staff_browser):
    experiment(key="draft", start=False, primary_metric=metric())
    experiment(key="no-metric")
    draft = staff_browser.get(results_url("draft")).content.decode()
    assert "has not started" in draft
    bare = staff_browser.get(results_url("no-metric")).content.decode()
    assert "has no primary metric" in bare and "No result is stored yet" in bare
    assert staff_browser.get(results_url("nope")).status_code == 404


def test_results_page_before_any_computation_says_not_enough_data(staff_browser):
    experiment(primary_metric=metric())
    page = staff_browser.get(results_url()).content.decode()
    assert "Not enough data: no result has been computed yet." in page


def test_refresh_computes_the_results_and_redirects_back(staff):
    votes = metric()
    running = experiment(primary_metric=votes)
    expose(running, "anon-1")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    assert browser.post(refresh_url()).status_code == 403  # no CSRF token
    assert not Result.objects.exists()
    page = browser.get(results_url())
    token = page.cookies["csrftoken"].value

    response = browser.post(refresh_url(), {"csrfmiddlewaretoken": token}, follow=True)

    assert response.redirect_chain == [(results_url() + "?phase=1", 302)]
    assert Result.objects.get().body["arms"][0]["users"] == 1
    assert "Results computed for 1 metrics." in response.content.decode()
    assert browser.get(refresh_url()).status_code == 405
    assert browser.post(refresh_url("nope"), {"csrfmiddlewaretoken": token}).status_code == 404


def test_each_phase_has_its_own_results_page(staff_browser):
    running = with_results(sequential=False)
    services_module.experiment_update(
        experiment=running,
        variants=[V(key="control", weight=0.3), V(key="b", weight=0.7)],
        new_phase=True,
        reason="more to b",
    )
    expose(running, "anon-new")  # the new phase's only exposure
    services.results_refresh(experiment=running)

    latest = staff_browser.get(results_url()).content.decode()
    first = staff_browser.get(results_url() + "?phase=1").content.decode()

    assert "phase 2 since" in latest and "phase 1 since" in first
    assert 'href="?phase=1"' in latest
    assert "B beats control" in first and "B beats control" not in latest
    assert staff_browser.get(results_url() + "?phase=9").status_code == 404
    assert staff_browser.get(results_url() + "?phase=x").status_code == 404


def test_the_admin_links_the_results_page(admin_client):
    running = experiment()
    change = reverse("admin:experiments_experiment_change", args=[running.pk])
    assert results_url() in admin_client.get(change).content.decode()

import datetime as dt

import pytest

from experiments.models import Metric, Outcome
from experiments.results import services
from tests.experiments.factories import experiment
from tests.experiments.results_data import T0, event, expose, metric
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def outcomes(metric):
    return {
        o.exposure.subject: (o.value, o.pre_value, o.converted)
        for o in Outcome.objects.filter(metric=metric).select_related("exposure")
    }


def test_outcomes_count_the_events_within_the_window_either_side_of_exposure():
    votes = metric(window_days=7)
    running = experiment(primary_metric=votes)
    fan, other = UserFactory(), UserFactory()
    expose(running, f"user:{fan.pk}", user=fan)
    expose(running, "anon-1")
    expose(running, f"user:{other.pk}", user=other)
    for at in (T0, T0 + 6 * DAY, T0 + 7 * DAY, T0 - DAY, T0 - 8 * DAY):
        event("vote_cast", user=fan, at=at)  # two in, one at the window's end, one before
    event("vote_cast", distinct_id="anon-1", at=T0 + DAY)  # an anonymous subject's
    event("pageview", user=other, at=T0 + DAY)  # another event

    assert services.results_compute(experiment=running) == {"votes": 2}

    assert outcomes(votes) == {f"user:{fan.pk}": (2, 1, True), "anon-1": (1, 0, True)}


def test_outcomes_follow_a_claimed_exposure_to_the_account_without_counting_twice():
    votes = metric(window_days=3)
    running = experiment(primary_metric=votes)
    fan = UserFactory()
    expose(running, "browser-9", user=fan)  # first seen anonymous, then signed in
    event("vote_cast", distinct_id="browser-9", at=T0 + DAY)
    event("vote_cast", user=fan, at=T0 + 2 * DAY)
    event("vote_cast", user=fan, distinct_id="browser-9", at=T0 + 2 * DAY)

    services.results_compute(experiment=running)

    assert outcomes(votes) == {"browser-9": (3, 0, True)}


def test_outcomes_sum_a_numeric_property_and_ignore_other_values():
    spend = metric(key="spend", kind=Metric.Kind.MEAN, event="tip", property="amount")
    running = experiment(primary_metric=spend)
    fan = UserFactory()
    expose(running, f"user:{fan.pk}", user=fan)
    event("tip", user=fan, at=T0 + DAY, amount=2.5)
    event("tip", user=fan, at=T0 + DAY, amount=4)
    event("tip", user=fan, at=T0 + DAY, amount="lots")
    event("tip", user=fan, at=T0 + DAY)
    event("tip", user=fan, at=T0 - DAY, amount=1)

    services.results_compute(experiment=running)

    assert outcomes(spend) == {f"user:{fan.pk}": (6.5, 1, True)}


def test_results_compute_is_idempotent():
    votes = metric()
    running = experiment(primary_metric=votes)
    fan = UserFactory()
    expose(running, f"user:{fan.pk}", user=fan)
    event("vote_cast", user=fan, at=T0 + DAY)
    services.results_compute(experiment=running)
    services.results_compute(experiment=running)
    assert outcomes(votes) == {f"user:{fan.pk}": (1, 0, True)}

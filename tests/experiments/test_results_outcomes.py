"""Outcomes COPYed in (PostgreSQL) are the rows computed, and the analysis can be stored again
from current outcomes without recomputing them."""

import datetime as dt

import pytest
from django.db import connection

from experiments.models import Metric, Outcome, Result
from experiments.results import services
from tests.experiments.factories import experiment
from tests.experiments.results_data import T0, event, events, expose, metric
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def stored(metric):
    return sorted(
        (o.exposure_id, o.value, o.pre_value, o.converted, o.denominator)
        for o in Outcome.objects.filter(metric=metric)
    )


def built(phase, metric):
    return sorted(services._event_outcomes(phase, metric))


def test_outcomes_copied_in_are_the_rows_computed():
    if connection.vendor != "postgresql":
        pytest.skip("outcomes are COPYed on PostgreSQL only")
    votes = metric(window_days=3)
    tips = metric(key="tips", kind=Metric.Kind.MEAN, event="tip", property="amount")
    running = experiment(primary_metric=votes, secondary_metrics=[tips])
    phase = running.phases.get()
    fan, claimed = UserFactory(), UserFactory()
    expose(running, f"user:{fan.pk}", user=fan)
    expose(running, "browser-9", user=claimed, at=T0 + DAY)  # anonymous first, then signed in
    for i in range(12):
        expose(running, f"anon-{i}", variant=i % 2, at=T0 + i * dt.timedelta(hours=5))
    # The window's edges either side, another event, and the claimed subject's three ways in.
    for at in (T0, T0 + 3 * DAY, T0 - 3 * DAY, T0 - DAY, T0 + 2 * DAY):
        event("vote_cast", user=fan, at=at)
    event("pageview", user=fan, at=T0 + DAY)
    event("vote_cast", distinct_id="browser-9", at=T0 + 2 * DAY)
    event("vote_cast", user=claimed, at=T0 + 2 * DAY)
    event("vote_cast", user=claimed, distinct_id="browser-9", at=T0 + 2 * DAY)
    rows = []
    for i in range(12):
        at = T0 + i * dt.timedelta(hours=5)
        rows += [("vote_cast", f"anon-{i}", at + (i - 4) * dt.timedelta(hours=9), {})] * (i % 3)
        rows.append(("tip", f"anon-{i}", at + DAY, {"amount": [2.5, "lots", -1, None][i % 4]}))
        rows.append(("tip", f"anon-{i}", at - DAY, {"amount": i % 3}))
    rows.append(("tip", "anon-5", T0 + 2 * DAY, {"amount": 1}))  # -1 + 1: a zero total after
    rows.append(("vote_cast", "never-exposed", T0, {}))
    events(rows)

    assert services.results_compute(experiment=running) == {
        "votes": len(built(phase, votes)),
        "tips": len(built(phase, tips)),
    }

    assert stored(votes) == built(phase, votes) and len(stored(votes)) > 5
    assert stored(tips) == built(phase, tips) and len(stored(tips)) > 5


def test_results_analyse_reads_the_totals_of_the_last_computation():
    votes = metric()
    running = experiment(primary_metric=votes)
    fan, later = UserFactory(), UserFactory()
    expose(running, f"user:{fan.pk}", user=fan)
    event("vote_cast", user=fan, at=T0 + DAY)
    services.results_refresh(experiment=running)
    # Exposed and converted since: counted at the next computation, not before.
    expose(running, f"user:{later.pk}", user=later)
    event("vote_cast", user=later, at=T0 + DAY)

    results = services.results_analyse(experiment=running)

    assert [r.pk for r in results] == list(Result.objects.values_list("pk", flat=True))
    assert results[0].body["arms"][0]["users"] == 1
    assert results[0].body["arms"][0]["converted"] == 1
    services.results_refresh(experiment=running)
    assert Result.objects.get().body["arms"][0]["users"] == 2
    assert Result.objects.get().body["arms"][0]["converted"] == 2

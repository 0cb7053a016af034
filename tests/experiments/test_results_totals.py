"""The totals of every breakdown from one query match arm_totals and arm_totals_daily."""

import datetime as dt

import pytest

from experiments.models import Metric
from experiments.results import selectors, services
from tests.experiments.factories import experiment
from tests.experiments.results_data import T0, events, expose, metric

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def test_arm_totals_by_matches_one_query_per_breakdown():
    tips = metric(key="tips", kind=Metric.Kind.MEAN, event="tip", property="amount")
    running = experiment(primary_metric=tips, weights=(0.4, 0.3, 0.3))
    phase = running.phases.get()
    rows = []
    for i in range(40):
        at = T0 + (i % 4) * DAY + dt.timedelta(hours=i)
        expose(running, f"anon-{i}", variant=i % 3, at=at, platform=["web", "ios", ""][i % 3],
               country=["US", "GB"][i % 2], is_new=[True, False, None][i % 3])  # fmt: skip
        if i % 5:
            rows.append(("tip", f"anon-{i}", at + DAY, {"amount": i % 4}))
        if i % 3 == 0:
            rows.append(("tip", f"anon-{i}", at - DAY, {"amount": 1.5}))
    events(rows)
    services.results_compute(experiment=running)
    by = ("platform", "is_new", "country", "day")

    totals = selectors.arm_totals_by(phase=phase, metric_id=tips.pk, by=by)

    assert totals[None] == selectors.arm_totals(phase=phase, metric_id=tips.pk)
    for field in by[:3]:
        assert totals[field] == selectors.arm_totals(phase=phase, metric_id=tips.pk, by=field)
    assert totals["day"] == selectors.arm_totals_daily(phase=phase, metric_id=tips.pk)
    assert len(totals["day"]) > 4 and totals[None][0].pre_total > 0

import datetime as dt

import pytest
from django.utils import timezone

from experiments import stats
from experiments.models import Metric, Outcome, Result
from experiments.results import selectors, services
from notifications.models import Category, Delivery, Notification
from tests.experiments.factories import experiment
from tests.experiments.results_data import T0, event, events, expose, metric
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


def arm(name, users, converted):
    return {"name": name, "users": users, "conversions": converted}


def test_results_refresh_stores_the_engines_figures_of_the_totals():
    votes = metric(window_days=7)
    tips = metric(key="tips", kind=Metric.Kind.MEAN, event="tip", property="amount")
    running = experiment(primary_metric=votes, secondary_metrics=[tips], alpha=0.1)
    rows = []
    for i in range(130):
        variant = 0 if i < 60 else 1  # 60 in control, 70 in b
        expose(running, f"anon-{i}", variant=variant, platform="ios" if i % 2 else "web")
        if (variant == 0 and i % 5 == 0) or (variant == 1 and i % 3 == 0):
            rows.append(("vote_cast", f"anon-{i}", T0 + DAY, {}))
            rows.append(("vote_cast", f"anon-{i}", T0 + 2 * DAY, {}))
        if i % 4 == 0:
            rows.append(("tip", f"anon-{i}", T0 + DAY, {"amount": i % 7}))
            rows.append(("tip", f"anon-{i}", T0 - DAY, {"amount": 1 + i % 3}))
    events(rows)

    stored = services.results_refresh(experiment=running)

    assert [(r.role, r.metric.key) for r in stored] == [("primary", "votes"), ("secondary", "tips")]
    primary = stored[0].body
    # control: i = 0, 5, ..., 55 (12 fans); b: multiples of 3 from 60 to 129 (24 fans)
    expected = stats.analyse(
        {
            "metric": "binomial",
            "variants": [arm("control", 60, 12), arm("b", 70, 24)],
            "weights": [0.5, 0.5],
            "alpha": 0.1,
            "sequential_tuning": 5000,
            "prior": {"mean": 0, "stddev": 0.3, "proper": False},
        }
    )
    assert primary["analysis"] == expected and primary["cuped"] is False
    assert [a["users"] for a in primary["arms"]] == [60, 70]
    # The mean metric, with its pre-exposure period: CUPED.
    totals = {0: [0, 0.0, 0.0, 0.0, 0.0, 0.0], 1: [0, 0.0, 0.0, 0.0, 0.0, 0.0]}
    for i in range(130):
        value, pre = (i % 7, 1 + i % 3) if i % 4 == 0 else (0, 0)
        t = totals[0 if i < 60 else 1]
        t[0] += 1
        t[1] += value
        t[2] += value * value
        t[3] += pre
        t[4] += pre * pre
        t[5] += value * pre
    mean_arms = [
        {"name": name, "users": t[0], "sum": t[1], "sum_squares": t[2], "pre_sum": t[3],
         "pre_sum_squares": t[4], "cross_sum": t[5]}
        for name, t in (("control", totals[0]), ("b", totals[1]))
    ]  # fmt: skip
    expected_mean = stats.analyse(
        {"metric": "mean", "variants": mean_arms, "weights": [0.5, 0.5], "alpha": 0.1}
    )
    assert stored[1].body["analysis"] == expected_mean and stored[1].body["cuped"] is True
    assert "segments" not in stored[1].body
    # The primary metric by platform: odd i on ios.
    ios = next(s for s in primary["segments"]["platform"] if s["value"] == "ios")
    ios_control = sum(1 for i in range(0, 60, 5) if i % 2)
    ios_b = sum(1 for i in range(60, 130, 3) if i % 2)
    assert ios["users"] == 65
    assert ios["analysis"]["control_users"] == 30
    assert ios["analysis"]["control_rate"] == ios_control / 30
    assert ios["analysis"]["variants"]["b"]["rate"] == ios_b / 35
    assert [s["value"] for s in primary["segments"]["is_new"]] == ["unknown"]
    # One day of exposure: the cumulative rate is the rate.
    assert primary["series"]["variants"] == {"control": [12 / 60], "b": [24 / 70]}


def test_results_refresh_replaces_the_phases_results():
    votes = metric()
    shares = metric(key="shares", event="share")
    running = experiment(primary_metric=votes, guardrail_metrics=[shares])
    services.results_refresh(experiment=running)
    stored = services.results_refresh(experiment=running)

    assert Result.objects.count() == 2
    assert stored[1].body["role"] == "guardrail"
    assert stored[0].body["analysis"]["not_enough_data"][0]["variant"] == "b"
    assert [r.pk for r in selectors.results_latest(experiment=running)] == [s.pk for s in stored]


def test_a_ratio_metric_is_analysed_from_each_subjects_numerator_and_denominator():
    per_view = metric(key="per-view", kind=Metric.Kind.RATIO, denominator_event="pageview")
    running = experiment(primary_metric=per_view)
    rows, sums = [], {0: [0] * 6, 1: [0] * 6}
    for i in range(140):
        variant, subject = i % 2, f"anon-{i}"
        expose(running, subject, variant=variant)
        views = 1 + i % 5 if i % 7 else 0  # some saw no page: a 0 denominator
        voted = (i % 3 == 0) + (i % 4 == 0 and variant == 1)
        rows += [("pageview", subject, T0 + DAY, {})] * views
        rows += [("vote_cast", subject, T0 + 2 * DAY, {})] * voted
        rows += [("vote_cast", subject, T0 + 9 * DAY, {})]  # after the 7-day window
        t = sums[variant]
        for k, x in enumerate((1, voted, voted * voted, views, views * views, voted * views)):
            t[k] += x
    events(rows)

    (result,) = services.results_refresh(experiment=running)

    body = {
        "metric": "ratio",
        "variants": [
            {"name": name, "users": t[0], "numerator_sum": t[1], "numerator_sum_squares": t[2],
             "denominator_sum": t[3], "denominator_sum_squares": t[4],
             "numerator_denominator_sum_products": t[5]}
            for name, t in (("control", sums[0]), ("b", sums[1]))
        ],
        "weights": [0.5, 0.5],
    }  # fmt: skip
    expected = stats.analyse(body)
    analysis = result.body["analysis"]
    assert analysis["variants"]["b"]["mean"] == pytest.approx(sums[1][1] / sums[1][3])
    for key in ("relative_uplift", "p_value", "ci95", "chance_to_win", "seq_p_value"):
        assert analysis["variants"]["b"][key] == pytest.approx(expected["variants"]["b"][key])
    assert result.body["cuped"] is False
    # The series is the ratio of everyone exposed so far, by day of exposure.
    assert result.body["series"]["variants"]["b"] == [pytest.approx(sums[1][1] / sums[1][3])]


def test_results_of_a_draft_without_a_phase_are_none():
    draft = experiment(start=False, primary_metric=metric())
    assert services.results_refresh(experiment=draft) == []
    assert selectors.results_latest(experiment=draft) == []


def test_notification_metric_outcomes_come_from_the_experiments_deliveries():
    opened = metric(key="opened", kind=Metric.Kind.NOTIFICATION, event="",
                    notification_outcome=Metric.NotificationOutcome.OPENED)  # fmt: skip
    running = experiment(key="push-copy", primary_metric=opened)
    fans = [UserFactory() for _ in range(3)]
    for fan in fans:
        expose(running, f"user:{fan.pk}", user=fan)
    now = timezone.now()
    for n, (fan, experiment_key, opened_at) in enumerate(
        [(fans[0], "push-copy", now), (fans[1], "push-copy", None), (fans[2], "other", now)]
    ):
        note = Notification.objects.create(user=fan, category=Category.VOTING_OPENED, key=f"n{n}")
        Delivery.objects.create(
            notification=note, channel="push", experiment=experiment_key, opened_at=opened_at
        )

    services.results_compute(experiment=running)

    assert outcomes(opened) == {f"user:{fans[0].pk}": (1, 0, True)}

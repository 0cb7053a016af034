import datetime
import math
import random

import pytest

from predictions.engagement import FEATURES, ActivityTable, Day, churn_fit, fans_score

TODAY = datetime.date(2026, 6, 1)


def days_ago(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


def test_features_by_hand():
    table = ActivityTable(
        [
            Day(1, days_ago(10), 4, 2, 1),
            Day(1, days_ago(3), 6, 3, 0),
            Day(2, days_ago(200), 1, 1, 0),
        ]
    )
    users, x = table.features(TODAY)
    assert users == [1]  # fan 2 was last active 200 days ago: not a fan now
    row = dict(zip(FEATURES, x[0], strict=True))
    assert row["active_days_7"] == 1 and row["active_days_30"] == 2
    assert row["days_since_active"] == pytest.approx(math.log1p(2))
    assert row["events_30"] == pytest.approx(math.log1p(10))
    assert row["tenure"] == pytest.approx(math.log1p(10))
    assert row["trend"] == pytest.approx((10 - 0) / 10)


def test_churned_looks_only_at_the_horizon_after_the_date():
    table = ActivityTable([Day(1, days_ago(40), 1, 1, 0), Day(1, days_ago(5), 1, 1, 0),
                           Day(2, days_ago(40), 1, 1, 0)])  # fmt: skip
    as_of = days_ago(30)
    assert table.churned([1, 2], as_of, 30).tolist() == [False, True]
    assert table.churned([1, 2], as_of, 20).tolist() == [True, True]


def synthetic_fans(seed=7, fans=300):
    """Loyal fans stay; fading fans slow down, then stop: a pattern a model should find."""
    rng = random.Random(seed)
    rows = []
    for user in range(fans):
        fading = rng.random() < 0.4
        stop = rng.randint(20, 150) if fading else None
        for n in range(200, 0, -1):
            rate = 0.5
            if fading and n < stop + 30:
                rate = 0.12
            if fading and n < stop:
                rate = 0.0
            if rng.random() < rate:
                rows.append(Day(user, days_ago(n), rng.randint(1, 9), 1, rng.randint(0, 2)))
    return rows


def test_the_churn_model_separates_fading_fans_on_a_later_date():
    fit = churn_fit(ActivityTable(synthetic_fans()), TODAY)
    assert fit.fitted_as_of == days_ago(60) and fit.evaluated_as_of == days_ago(30)
    assert fit.auc is not None and fit.auc > 0.8
    assert set(fit.weights) == set(FEATURES)
    assert 0 < fit.churn_rate < 1


def test_fans_score_ranks_engagement_and_gives_each_fan_a_risk():
    table = ActivityTable(synthetic_fans())
    fit = churn_fit(table, TODAY)
    scores = {s.user_id: s for s in fans_score(table, fit, TODAY)}
    assert all(0 < s.engagement <= 100 and 0 <= s.churn_risk <= 1 for s in scores.values())
    silent = max(scores.values(), key=lambda s: s.days_since_active)
    busy = min(scores.values(), key=lambda s: s.days_since_active)
    assert silent.churn_risk > busy.churn_risk


def test_too_few_fans_is_a_clear_error():
    with pytest.raises(ValueError, match="too few fans to learn from"):
        churn_fit(ActivityTable([Day(1, days_ago(70), 1, 1, 0)]), TODAY)

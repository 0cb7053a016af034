"""Engagement and churn risk of fans from their daily activity. Pure: numpy and scikit-learn.

A fan is described on a day ("as of") by what they did in the days before it; churn is no
activity at all in the `horizon` days after it. The model (a logistic regression on
standardised features, so its weights read as "how much each habit matters") is evaluated
on a time split: fitted as of one day, scored by AUC as of a later day whose next `horizon`
days have been seen, never on fans' futures it learned from.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HORIZON_DAYS = 30
LOOKBACK_DAYS = 90  # a fan counts at a date if active in the 90 days before it

FEATURES = (
    "days_since_active",  # log(1 + days since the last active day)
    "active_days_7",  # days with any activity of the last 7
    "active_days_30",
    "active_days_90",
    "events_30",  # log(1 + events in the last 30 days)
    "votes_30",  # log(1 + votes)
    "pageviews_30",
    "trend",  # events of the last 14 days against the 14 before, in (-1, 1)
    "tenure",  # log(1 + days since first seen in the data)
)


@dataclass(frozen=True)
class Day:
    user_id: int
    day: datetime.date
    events: int
    pageviews: int
    votes: int


class ActivityTable:
    """Daily activity as a users x days array per measure, from rows shaped as `Day`
    (analytics' AccountDay is one)."""

    def __init__(self, days: Iterable[Day]) -> None:
        rows = list(days)
        self.users = sorted({r.user_id for r in rows})
        self.first = min((r.day for r in rows), default=datetime.date(2000, 1, 1))
        last = max((r.day for r in rows), default=self.first)
        width = (last - self.first).days + 1
        index = {u: i for i, u in enumerate(self.users)}
        shape = (len(self.users), width)
        self.events = np.zeros(shape)
        self.pageviews = np.zeros(shape)
        self.votes = np.zeros(shape)
        for r in rows:
            column = (r.day - self.first).days
            self.events[index[r.user_id], column] += r.events
            self.pageviews[index[r.user_id], column] += r.pageviews
            self.votes[index[r.user_id], column] += r.votes
        self.active = self.events > 0

    def _column(self, day: datetime.date) -> int:
        return (day - self.first).days

    def window(self, values: np.ndarray, end: datetime.date, days: int) -> np.ndarray:
        """Return each user's values over the `days` days before `end` (end excluded)."""
        stop = min(max(self._column(end), 0), values.shape[1])
        start = min(max(stop - days, 0), values.shape[1])
        return values[:, start:stop]

    def features(self, as_of: datetime.date) -> tuple[list[int], np.ndarray]:
        """Return the users active in the LOOKBACK_DAYS before `as_of` and their FEATURES."""
        recent = self.window(self.active, as_of, LOOKBACK_DAYS)
        keep = recent.any(axis=1)
        users = [u for u, k in zip(self.users, keep, strict=True) if k]
        x = np.zeros((len(users), len(FEATURES)))
        if not users:
            return users, x
        # Days are counted from `as_of`, which may lie past the data's last day.
        end = self._column(as_of)
        upto = self.active[keep, : max(min(end, self.active.shape[1]), 0)]
        last_seen = np.array([np.flatnonzero(row)[-1] for row in upto])
        first_seen = np.array([np.flatnonzero(row)[0] for row in upto])
        since = end - 1 - last_seen
        f = {name: i for i, name in enumerate(FEATURES)}
        x[:, f["days_since_active"]] = np.log1p(since)
        for days in (7, 30, 90):
            x[:, f[f"active_days_{days}"]] = self.window(self.active, as_of, days)[keep].sum(1)
        for name, values in (
            ("events", self.events),
            ("votes", self.votes),
            ("pageviews", self.pageviews),
        ):
            x[:, f[f"{name}_30"]] = np.log1p(self.window(values, as_of, 30)[keep].sum(1))
        last14 = self.window(self.events, as_of, 14)[keep].sum(1)
        before = self.window(self.events, as_of, 28)[keep].sum(1) - last14
        x[:, f["trend"]] = (last14 - before) / np.maximum(last14 + before, 1)
        x[:, f["tenure"]] = np.log1p(end - first_seen)
        return users, x

    def churned(self, users: list[int], as_of: datetime.date, horizon: int) -> np.ndarray:
        """Return, per user, whether they did nothing in the `horizon` days from `as_of`."""
        index = {u: i for i, u in enumerate(self.users)}
        start = max(self._column(as_of), 0)
        future = self.active[[index[u] for u in users], start : start + horizon]
        return ~future.any(axis=1)


@dataclass(frozen=True)
class ChurnFit:
    model: object  # the fitted pipeline
    weights: dict[str, float]  # per standardised feature: + raises the churn risk
    intercept: float
    auc: float | None  # on the later date, None when one class is missing there
    fitted_as_of: datetime.date
    evaluated_as_of: datetime.date
    fitted_users: int
    evaluated_users: int
    churn_rate: float  # in the evaluation


def churn_fit(table: ActivityTable, today: datetime.date, horizon: int = HORIZON_DAYS) -> ChurnFit:
    """Fit as of `today - 2 horizons`, evaluate as of `today - horizon` (whose next
    `horizon` days are seen by today). Raise ValueError when a date has too few fans or a
    single outcome to learn from."""
    evaluated_as_of = today - datetime.timedelta(days=horizon)
    fitted_as_of = evaluated_as_of - datetime.timedelta(days=horizon)
    users, x = table.features(fitted_as_of)
    y = table.churned(users, fitted_as_of, horizon)
    if len(users) < 10 or y.all() or not y.any():
        raise ValueError(
            f"too few fans to learn from as of {fitted_as_of} ({len(users)} active, "
            f"{int(y.sum())} of them churned): churn needs both outcomes"
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x, y)
    eval_users, eval_x = table.features(evaluated_as_of)
    eval_y = table.churned(eval_users, evaluated_as_of, horizon)
    auc = None
    if eval_y.any() and not eval_y.all():
        auc = float(roc_auc_score(eval_y, model.predict_proba(eval_x)[:, 1]))
    regression = model[-1]
    return ChurnFit(
        model=model,
        weights={n: round(float(w), 4) for n, w in zip(FEATURES, regression.coef_[0], strict=True)},
        intercept=round(float(regression.intercept_[0]), 4),
        auc=auc,
        fitted_as_of=fitted_as_of,
        evaluated_as_of=evaluated_as_of,
        fitted_users=len(users),
        evaluated_users=len(eval_users),
        churn_rate=float(eval_y.mean()) if len(eval_y) else 0.0,
    )


@dataclass(frozen=True)
class FanScore:
    user_id: int
    engagement: float  # 0-100, the fan's rank among active fans by recent activity
    churn_risk: float  # the model's probability of no activity in the next horizon
    days_since_active: int


def engagement_index(x: np.ndarray) -> np.ndarray:
    """Return a plain activity index: active days and votes of the last 30 days count most,
    recency decays it."""
    f = {name: i for i, name in enumerate(FEATURES)}
    return (
        x[:, f["active_days_30"]]
        + 2 * x[:, f["votes_30"]]
        + x[:, f["events_30"]]
        + 0.5 * x[:, f["active_days_7"]]
    ) / (1 + x[:, f["days_since_active"]])


def fans_score(table: ActivityTable, fit: ChurnFit, as_of: datetime.date) -> list[FanScore]:
    """Return each fan active in the LOOKBACK_DAYS before `as_of` with their scores."""
    users, x = table.features(as_of)
    if not users:
        return []
    risk = fit.model.predict_proba(x)[:, 1]
    index = engagement_index(x)
    order = index.argsort(kind="stable")
    ranks = np.empty(len(users))
    ranks[order] = np.arange(len(users))
    percentile = 100 * (ranks + 1) / len(users)
    since = np.rint(np.expm1(x[:, FEATURES.index("days_since_active")])).astype(int)
    return [
        FanScore(
            user_id=u,
            engagement=round(float(percentile[i]), 1),
            churn_risk=round(float(risk[i]), 4),
            days_since_active=int(since[i]),
        )
        for i, u in enumerate(users)
    ]

"""Unusual voting at one show, from its counted votes alone. Pure: no Django.

Three kinds, each held against the show's own crowd with the robust z-score of
monitoring.anomaly (median and MAD, so the suspects barely move the baseline):

- an account that cast far more votes at the show than its other voters (or that voted as
  fast as the vote rate limit lets anyone);
- an address (a keyed hash of it) whose votes, from two accounts or more, are far above
  the show's other addresses;
- a burst of new accounts (made less than a day before they voted): an hour in which far
  more of them voted at the show than in its earlier hours.

Each finding carries the votes it is about, so staff can set exactly those aside.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from monitoring import anomaly

ACCOUNT = "account"
ADDRESS = "address"
NEW_ACCOUNTS = "new_accounts"


class VoteLike(Protocol):
    vote_id: int
    user_id: int
    address_hash: str
    created_at: dt.datetime
    account_created_at: dt.datetime


@dataclass(frozen=True)
class Settings:
    sensitivity: float = anomaly.OUTLIER_Z  # robust z-score past which a count is unusual
    account_min_votes: int = 20  # an account with fewer is never flagged, however unusual
    address_min_votes: int = 20
    address_min_accounts: int = 2  # one account at one address is the account's flag
    per_minute_limit: int | None = None  # the vote rate limit, if any: reaching it is unusual
    new_account_age: dt.timedelta = dt.timedelta(hours=24)
    burst_min_accounts: int = 5
    burst_recent_hours: int = 2  # the hours judged each scan: this one and the last
    burst_history_hours: int = 14 * 24  # the show's earlier hours they are held against
    examples: int = 10


@dataclass(frozen=True)
class Suspicion:
    kind: str
    subject_key: str
    score: float | None
    vote_ids: tuple[int, ...]
    evidence: dict = field(default_factory=dict)


def _judged(value: float, history: Sequence[float], settings: Settings, floor: float):
    return anomaly.seasonal(
        value,
        history,
        threshold=settings.sensitivity,
        relative_floor=0.1,
        absolute_floor=floor,
        direction="up",
    )


def _baseline(verdict: anomaly.Verdict, history: Sequence[float]) -> dict:
    scale = anomaly.robust_scale(history) if len(history) else None
    return {
        "score": None if verdict.score is None else round(verdict.score, 2),
        "median": verdict.expected,
        "mad_scaled": None if scale is None else round(scale, 2),
    }


def _busiest_minute(times: Iterable[dt.datetime]) -> int:
    """The most votes cast within any 60 seconds."""
    ordered, best, left = sorted(times), 0, 0
    for right, at in enumerate(ordered):
        while at - ordered[left] >= dt.timedelta(minutes=1):
            left += 1
        best = max(best, right - left + 1)
    return best


def accounts(votes: Sequence[VoteLike], settings: Settings) -> list[Suspicion]:
    by_user: dict[int, list[VoteLike]] = defaultdict(list)
    for vote in votes:
        by_user[vote.user_id].append(vote)
    counts = [len(v) for v in by_user.values()]
    found = []
    for user_id, theirs in by_user.items():
        verdict = _judged(len(theirs), counts, settings, floor=2.0)
        busiest = _busiest_minute(v.created_at for v in theirs)
        reasons = []
        if verdict.anomalous and len(theirs) >= settings.account_min_votes:
            reasons.append("far more votes than the show's other voters")
        if settings.per_minute_limit and busiest >= settings.per_minute_limit:
            reasons.append("voted as fast as the rate limit allows")
        if not reasons:
            continue
        ids = tuple(v.vote_id for v in theirs)
        found.append(
            Suspicion(
                ACCOUNT,
                f"user:{user_id}",
                verdict.score,
                ids,
                {
                    "user_id": user_id,
                    "votes": len(theirs),
                    "voters": len(counts),
                    **_baseline(verdict, counts),
                    "busiest_minute": busiest,
                    "rate_limit_per_minute": settings.per_minute_limit,
                    "first_vote": min(v.created_at for v in theirs).isoformat(),
                    "last_vote": max(v.created_at for v in theirs).isoformat(),
                    "reasons": reasons,
                    "example_vote_ids": list(ids[: settings.examples]),
                },
            )
        )
    return found


def addresses(votes: Sequence[VoteLike], settings: Settings) -> list[Suspicion]:
    by_address: dict[str, list[VoteLike]] = defaultdict(list)
    for vote in votes:
        if vote.address_hash:
            by_address[vote.address_hash].append(vote)
    counts = [len(v) for v in by_address.values()]
    found = []
    for address, theirs in by_address.items():
        users = Counter(v.user_id for v in theirs)
        if len(theirs) < settings.address_min_votes or len(users) < settings.address_min_accounts:
            continue
        verdict = _judged(len(theirs), counts, settings, floor=2.0)
        if not verdict.anomalous:
            continue
        ids = tuple(v.vote_id for v in theirs)
        found.append(
            Suspicion(
                ADDRESS,
                f"address:{address}",
                verdict.score,
                ids,
                {
                    "address_hash": address,
                    "votes": len(theirs),
                    "accounts": len(users),
                    "votes_by_account": dict(users.most_common(settings.examples)),
                    "addresses": len(counts),
                    **_baseline(verdict, counts),
                    "reasons": ["far more votes from one address than from the show's others"],
                    "example_vote_ids": list(ids[: settings.examples]),
                },
            )
        )
    return found


def _hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def new_account_bursts(
    votes: Sequence[VoteLike], settings: Settings, *, now: dt.datetime
) -> list[Suspicion]:
    """Hours among the last `burst_recent_hours` in which more new accounts voted at the show
    than its earlier hours make usual (every hour since its first vote counts, none as 0)."""
    if not votes:
        return []
    fresh = [v for v in votes if v.created_at - v.account_created_at < settings.new_account_age]
    accounts_by_hour: dict[dt.datetime, set[int]] = defaultdict(set)
    votes_by_hour: dict[dt.datetime, list[VoteLike]] = defaultdict(list)
    for vote in fresh:
        accounts_by_hour[_hour(vote.created_at)].add(vote.user_id)
        votes_by_hour[_hour(vote.created_at)].append(vote)
    first = _hour(min(v.created_at for v in votes))
    current = _hour(now)
    found = []
    for back in range(settings.burst_recent_hours):
        hour = current - dt.timedelta(hours=back)
        newcomers = len(accounts_by_hour.get(hour, ()))
        if newcomers < settings.burst_min_accounts:
            continue
        earliest = max(first, hour - dt.timedelta(hours=settings.burst_history_hours))
        hours = int((hour - earliest).total_seconds() // 3600)
        history = [
            len(accounts_by_hour.get(earliest + dt.timedelta(hours=i), ())) for i in range(hours)
        ]
        verdict = _judged(newcomers, history, settings, floor=1.0)
        if not verdict.anomalous:
            continue
        theirs = votes_by_hour[hour]
        ids = tuple(v.vote_id for v in theirs)
        found.append(
            Suspicion(
                NEW_ACCOUNTS,
                f"hour:{hour:%Y-%m-%dT%H:00Z}",
                verdict.score,
                ids,
                {
                    "window": [hour.isoformat(), (hour + dt.timedelta(hours=1)).isoformat()],
                    "new_accounts": newcomers,
                    "votes": len(theirs),
                    "account_age_under_hours": settings.new_account_age.total_seconds() / 3600,
                    "hours_compared": len(history),
                    **_baseline(verdict, history),
                    "reasons": ["far more new accounts voted this hour than in the show's others"],
                    "example_vote_ids": list(ids[: settings.examples]),
                },
            )
        )
    return found


def scan(votes: Sequence[VoteLike], settings: Settings, *, now: dt.datetime) -> list[Suspicion]:
    """Return every unusual account, address and hour of new accounts among a show's votes."""
    return [
        *accounts(votes, settings),
        *addresses(votes, settings),
        *new_account_bursts(votes, settings, now=now),
    ]

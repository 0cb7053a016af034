"""The hours of a user's local day they usually open or click notifications. Pure Python.

Each engagement (a click, or an open without a click) counts in the local hour, in the
user's timezone, it happened at, weighted by kind and by age: a click is a person acting,
an open may be a mail client fetching images for them, so it counts half; and a weight
halves every HALF_LIFE_DAYS, so a changed routine takes over within weeks. Older than
WINDOW_DAYS counts nothing.

The 24 hourly weights are smoothed around the clock (each hour shares a quarter with each
neighbour, 23:00 beside 00:00: opening at 18:55 or 19:05 is the same habit), then mixed
with a uniform prior of PRIOR_WEIGHT engagements, so three opens do not make a profile.
The likely hours are those whose share is at least LIKELY_SHARE of the best hour's.

The confidence, between 0 and 1, is the evidence (weighted engagements, n / (n + k)) times
how concentrated the shares are (1 less their entropy over log 24: 0 for opens spread
evenly, 1 for one hour only). A profile is trusted, and used to time notifications, only
with at least MIN_EVIDENCE weighted engagements and MIN_CONFIDENCE.

Timed sending feeds on itself (what goes at 19:00 is opened near 19:00). What keeps other
hours in view: in-app and urgent notifications go at once, a delivery waits only when a
likely hour comes within hours, and a timing experiment's control arm is sent at once.
"""

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

HOURS = 24
WINDOW_DAYS = 90
HALF_LIFE_DAYS = 30.0
CLICK_WEIGHT = 1.0
OPEN_WEIGHT = 0.5
PRIOR_WEIGHT = 2.0  # engagements spread evenly over the day, added to everyone's
NEIGHBOUR_SHARE = 0.25  # of an hour's weight, given to each neighbouring hour
LIKELY_SHARE = 0.5  # of the best hour's share, for an hour to count as likely
EVIDENCE_HALF = 5.0  # weighted engagements at which the evidence factor is one half
MIN_EVIDENCE = 4.0
MIN_CONFIDENCE = 0.15


@dataclass(frozen=True)
class OpenHours:
    """A user's open-hour profile: `shares` of engagement by local hour (24, summing to
    1), the `best_hour`, the `likely` hours (best first), the weighted `evidence` behind it,
    the raw count of `engagements`, and the `confidence`."""

    shares: tuple[float, ...]
    best_hour: int
    likely: tuple[int, ...]
    evidence: float
    engagements: int
    confidence: float

    @property
    def trusted(self) -> bool:
        return self.evidence >= MIN_EVIDENCE and self.confidence >= MIN_CONFIDENCE


def _weight(moment: dt.datetime, now: dt.datetime, kind_weight: float) -> float:
    age_days = (now - moment).total_seconds() / 86400
    if age_days < 0 or age_days > WINDOW_DAYS:
        return 0.0
    return kind_weight * 0.5 ** (age_days / HALF_LIFE_DAYS)


def _smooth(counts: list[float]) -> list[float]:
    keep = 1 - 2 * NEIGHBOUR_SHARE
    return [
        keep * counts[h]
        + NEIGHBOUR_SHARE * counts[(h - 1) % HOURS]
        + NEIGHBOUR_SHARE * counts[(h + 1) % HOURS]
        for h in range(HOURS)
    ]


def open_hours(
    *,
    clicks: Iterable[dt.datetime],
    opens: Iterable[dt.datetime],
    zone: ZoneInfo,
    now: dt.datetime,
) -> OpenHours:
    """Return the open-hour profile of one user from the times they clicked, and the times
    they opened without clicking (timezone-aware), in their timezone `zone`, as of `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    counts = [0.0] * HOURS
    engagements = 0
    for moments, kind_weight in ((clicks, CLICK_WEIGHT), (opens, OPEN_WEIGHT)):
        for moment in moments:
            if moment.tzinfo is None:
                raise ValueError(f"engagement time {moment} is not timezone-aware")
            weight = _weight(moment, now, kind_weight)
            if weight:
                counts[moment.astimezone(zone).hour] += weight
                engagements += 1
    evidence = sum(counts)
    smoothed = _smooth(counts)
    total = evidence + PRIOR_WEIGHT
    shares = tuple((s + PRIOR_WEIGHT / HOURS) / total for s in smoothed)
    best = max(range(HOURS), key=lambda h: (shares[h], -h))
    likely = tuple(
        sorted(
            (h for h in range(HOURS) if shares[h] >= LIKELY_SHARE * shares[best]),
            key=lambda h: (-shares[h], h),
        )
    )
    entropy = -sum(p * math.log(p) for p in shares if p > 0)
    concentration = max(0.0, 1 - entropy / math.log(HOURS))
    confidence = evidence / (evidence + EVIDENCE_HALF) * concentration
    return OpenHours(
        shares=shares,
        best_hour=best,
        likely=likely,
        evidence=evidence,
        engagements=engagements,
        confidence=confidence,
    )

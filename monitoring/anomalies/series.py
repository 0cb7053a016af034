"""The seasonal series alert rules in anomaly mode watch: each reads its value over any
span of the past weeks, per subject, from what already keeps that long:

- votes_per_show, per show open for votes: the votes' own `created_at` (setlists
  selectors), kept for good;
- events_per_minute, the platform: analytics' hour rollups (kept 1,100 days), with minute
  rollups (35 days) for a window's edges;
- http_error_rate, the platform: the live store (26 hours), then the RequestHour rows
  copied from it every hour (10 weeks);
- notification_failure_rate, the platform: notifications' delivery rollups (minutes 35
  days, hours 12 months).

A span whose value cannot be said (no request, no delivery ended, a show not yet taking
votes) reads None and is left out of the baseline, never taken as zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from mysetlist.core.exceptions import ApplicationError

Span = tuple[dt.datetime, dt.datetime]
Reader = Callable[[list[Span]], dict[str, list[float | None]]]

LIVE_STORE_HOURS = 25  # the live store keeps 26 hours: read it for spans within 25
MIN_REQUESTS = 50  # fewer requests in a span say nothing about its error rate
MIN_DELIVERIES_ENDED = 20


@dataclass(frozen=True)
class Series:
    key: str
    name: str
    unit: str
    read: Reader
    direction: str = "up"  # which way is unusual: "up", "down" or "both"
    absolute_floor: float = 1.0  # the least robust scale, in the series' unit
    relative_floor: float = 0.05  # ... and as a share of the baseline


def _minutes(span: Span) -> float:
    return max((span[1] - span[0]).total_seconds() / 60, 1 / 60)


def votes_per_show(spans: list[Span]) -> dict[str, list[float | None]]:
    """Votes cast at each open show in each span; a span before the show's first vote
    reads None (it was not taking votes, or nobody knew of it yet)."""
    from mysetlist.setlists import selectors

    show_ids = selectors.show_ids_voting_open()
    counts = selectors.show_vote_counts_by_span(show_ids=show_ids, spans=spans)
    first = selectors.shows_first_vote_at(show_ids=list(counts))
    return {
        f"show:{show_id}": [
            float(n) if start >= first[show_id] or i == 0 else None
            for i, ((start, _), n) in enumerate(zip(spans, values, strict=True))
        ]
        for show_id, values in counts.items()
        if show_id in first
    }


def events_per_minute(spans: list[Span]) -> dict[str, list[float | None]]:
    from analytics.selectors import event_count_total

    return {
        "": [
            event_count_total(start=start, end=end) / _minutes((start, end)) for start, end in spans
        ]
    }


def _requests(span: Span, now: dt.datetime) -> tuple[float, float]:
    """Requests and errors over the span: from the live store if it still holds it, else
    from the hourly copies, each hour counted for the share of it the span covers."""
    from monitoring import live
    from monitoring.anomalies.models import RequestHour

    start, end = span
    if start >= now - dt.timedelta(hours=LIVE_STORE_HOURS):
        minutes = live.minutes_read(start, end)
        return live.fields_sum(minutes, "req")[""], live.fields_sum(minutes, "err")[""]
    first = start.replace(minute=0, second=0, microsecond=0)
    requests = errors = 0.0
    for row in RequestHour.objects.filter(hour__gte=first, hour__lt=end):
        overlap = min(end, row.hour + dt.timedelta(hours=1)) - max(start, row.hour)
        share = max(overlap.total_seconds(), 0) / 3600
        requests += row.requests * share
        errors += row.errors * share
    return requests, errors


def http_error_rate(spans: list[Span]) -> dict[str, list[float | None]]:
    now = dt.datetime.now(dt.UTC)
    values: list[float | None] = []
    for span in spans:
        requests, errors = _requests(span, now)
        values.append(100 * errors / requests if requests >= MIN_REQUESTS else None)
    return {"": values}


def notification_failure_rate(spans: list[Span]) -> dict[str, list[float | None]]:
    from notifications import selectors

    values: list[float | None] = []
    for start, end in spans:
        rows = selectors.delivery_totals(start=start, end=end)
        ended = sum(row.sent + row.failed + row.bounced for row in rows)
        failed = sum(row.failed + row.bounced for row in rows)
        values.append(100 * failed / ended if ended >= MIN_DELIVERIES_ENDED else None)
    return {"": values}


_SERIES: dict[str, Series] = {}


def register(series: Series) -> Series:
    _SERIES[series.key] = series
    return series


def series_get(key: str) -> Series:
    """Return the series of `key`; ApplicationError naming the known ones when unknown."""
    try:
        return _SERIES[key]
    except KeyError:
        known = ", ".join(sorted(_SERIES))
        raise ApplicationError(
            f"There is no seasonal series {key!r} for anomaly detection; the series are: {known}.",
            {"fields": {"metric": "unknown"}},
        ) from None


def series_keys() -> list[str]:
    return sorted(_SERIES)


for _series in (
    Series("votes_per_show", "Votes at a show", "votes", votes_per_show, "up", 3.0, 0.1),
    Series("events_per_minute", "Analytics events counted", "per minute", events_per_minute,
           "both", 1.0, 0.05),
    Series("http_error_rate", "HTTP server errors (5xx)", "%", http_error_rate, "up", 1.0, 0.1),
    Series("notification_failure_rate", "Notification deliveries failed or bounced", "%",
           notification_failure_rate, "up", 1.0, 0.1),
):  # fmt: skip
    register(_series)

"""The live figures of the catalog: what requests, Celery, websockets, analytics and
notifications did over a span, read from the shared per-minute store and the apps'
selectors, so every process's work counts and no raw events are read."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from monitoring import live
from monitoring.catalog import Figure, register
from monitoring.quantiles import quantile
from mysetlist.core import tiered_cache
from mysetlist.core.buckets import bucket_start

logger = logging.getLogger(__name__)


def _minutes(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds() / 60, 1 / 60)


def _recent(end: dt.datetime) -> bool:
    """Whether a span ends about now, so a figure sampled now may stand for its end."""
    return abs((dt.datetime.now(dt.UTC) - end).total_seconds()) < 90


def active_users(start: dt.datetime, end: dt.datetime) -> float:
    return float(live.visitors_count(start, end))


def http_requests_per_minute(start: dt.datetime, end: dt.datetime) -> float:
    requests = live.fields_sum(live.minutes_read(start, end), "req")[""]
    return requests / _minutes(start, end)


def http_error_rate(start: dt.datetime, end: dt.datetime) -> float | None:
    minutes = live.minutes_read(start, end)
    requests = live.fields_sum(minutes, "req")[""]
    if not requests:
        return None
    return 100 * live.fields_sum(minutes, "err")[""] / requests


def _latency_ms(share: float):
    def read(start: dt.datetime, end: dt.datetime) -> float | None:
        buckets = live.fields_sum(live.minutes_read(start, end), "lat:")
        found = quantile({int(index): int(count) for index, count in buckets.items()}, share)
        return None if found is None else round(found * 1000, 1)

    return read


def celery_task_failures(start: dt.datetime, end: dt.datetime) -> float:
    return live.fields_sum(live.minutes_read(start, end), "task_failure")[""]


def celery_workers_alive(start: dt.datetime, end: dt.datetime) -> float:
    return float(len(live.fields_sum(live.minutes_read(start, end), "worker:")))


def celery_queue_depth(start: dt.datetime, end: dt.datetime) -> float | None:
    """The deepest the queues were together in any minute the workers sampled, or now:
    with no worker alive to sample, the queues grow unseen otherwise."""
    from monitoring.workers import queue_depths

    totals = [
        sum(float(v) for k, v in fields.items() if k.startswith("queue:"))
        for fields in live.minutes_read(start, end).values()
        if any(k.startswith("queue:") for k in fields)
    ]
    if _recent(end):
        now = queue_depths()
        if now is not None:
            totals.append(float(sum(now.values())))
    return max(totals) if totals else None


def websocket_connections(start: dt.datetime, end: dt.datetime) -> float | None:
    """The most websockets open at once, as sampled: per minute, every process's last
    sample summed."""
    totals = [
        sum(float(v) for k, v in fields.items() if k.startswith("ws:"))
        for fields in live.minutes_read(start, end).values()
        if any(k.startswith("ws:") for k in fields)
    ]
    return max(totals) if totals else None


def votes_per_minute(start: dt.datetime, end: dt.datetime) -> float:
    from analytics.selectors import live_count

    return live_count(start=start, end=end, event="vote_cast") / _minutes(start, end)


def events_per_minute(start: dt.datetime, end: dt.datetime) -> float:
    from analytics.selectors import live_count

    return live_count(start=start, end=end) / _minutes(start, end)


def ingestion_lag_ms(start: dt.datetime, end: dt.datetime) -> float | None:
    from analytics.selectors import live_lag

    return live_lag(start=start, end=end)[1]


def _deliveries(start: dt.datetime, end: dt.datetime) -> dict | None:
    """Deliveries by (provider, channel, outcome) over the whole minutes of the span, from
    notifications' rollups; None when the span holds no whole minute."""
    from notifications import selectors

    start, end = bucket_start(start, "minute"), bucket_start(end, "minute")
    if end <= start:
        return None
    counts: dict[tuple[str, str, str], int] = {}
    for row in selectors.delivery_totals(start=start, end=end, by=("provider", "channel")):
        for outcome in OUTCOMES:
            counts[(row.key["provider"], row.key["channel"], outcome)] = getattr(row, outcome)
    return counts


OUTCOMES = ("sent", "delivered", "failed", "bounced", "skipped", "pending")
FAILED = frozenset({"failed", "bounced"})


def notification_deliveries_per_minute(start: dt.datetime, end: dt.datetime) -> float | None:
    found = _deliveries(start, end)
    if found is None:
        return None
    sent = sum(n for (_, _, outcome), n in found.items() if outcome == "sent")
    return sent / _minutes(start, end)


def notification_failure_rate(start: dt.datetime, end: dt.datetime) -> float | None:
    """Failed and bounced among the deliveries that ended (sent, failed or bounced), in %."""
    found = _deliveries(start, end)
    if not found:
        return None
    ended = sum(n for (_, _, outcome), n in found.items() if outcome in {"sent", *FAILED})
    failed = sum(n for (_, _, outcome), n in found.items() if outcome in FAILED)
    return 100 * failed / ended if ended else None


def cache_counts(start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
    """Return the tiered cache's reads over the span in every process, per namespace family:
    local hits, shared hits and misses (each process hands its counts over every few
    seconds)."""
    families: dict[str, dict[str, int]] = {}
    for name, count in live.fields_sum(live.minutes_read(start, end), "cache:").items():
        family, _, outcome = name.rpartition(":")
        families.setdefault(family, dict.fromkeys(tiered_cache.OUTCOMES, 0))[outcome] = int(count)
    return families


def _cache_hit_rate(outcomes: tuple[str, ...]):
    def read(start: dt.datetime, end: dt.datetime) -> float | None:
        totals = Counter()
        for counts in cache_counts(start, end).values():
            totals.update(counts)
        return tiered_cache.hit_rate(sum(totals[o] for o in outcomes), sum(totals.values()))

    return read


LIVE_FIGURES = [
    register(Figure(*spec))
    for spec in (
        ("active_users", "Active users (signed in or with a browser id)", "count", active_users),
        ("http_requests_per_minute", "HTTP requests", "per minute", http_requests_per_minute),
        ("http_error_rate", "HTTP server errors (5xx)", "%", http_error_rate),
        ("http_latency_p50_ms", "HTTP latency, median", "ms", _latency_ms(0.5)),
        ("http_latency_p95_ms", "HTTP latency, 95th percentile", "ms", _latency_ms(0.95)),
        ("http_latency_p99_ms", "HTTP latency, 99th percentile", "ms", _latency_ms(0.99)),
        ("votes_per_minute", "Votes (counted in the rollups)", "per minute", votes_per_minute),
        ("events_per_minute", "Analytics events counted", "per minute", events_per_minute),
        ("ingestion_lag_ms", "Ingestion lag, accepted to counted (p99)", "ms", ingestion_lag_ms),
        ("celery_queue_depth", "Celery messages waiting", "count", celery_queue_depth),
        ("celery_workers_alive", "Celery workers with a heartbeat", "count",
         celery_workers_alive),
        ("celery_task_failures", "Celery task failures", "count", celery_task_failures),
        ("websocket_connections", "Open websockets (peak)", "count", websocket_connections),
        ("notification_deliveries_per_minute", "Notification deliveries sent", "per minute",
         notification_deliveries_per_minute),
        ("notification_failure_rate", "Notification deliveries failed or bounced", "%",
         notification_failure_rate),
        ("cache_hit_rate", "Cache reads served from a cache (either layer)", "%",
         _cache_hit_rate(("local_hit", "shared_hit"))),
        ("cache_local_hit_rate", "Cache reads served from the process's own layer", "%",
         _cache_hit_rate(("local_hit",))),
    )
]  # fmt: skip

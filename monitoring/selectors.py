"""What monitoring offers the platform's plumbing: its checks for /api/health and its live
figures for /api/status (named in MonitoringConfig, so mysetlist.core imports no app)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from monitoring import live

STATUS_SPAN = dt.timedelta(minutes=5)


def _workers_alive() -> str | None:
    from monitoring.figures import celery_workers_alive

    end = dt.datetime.now(dt.UTC)
    span = dt.timedelta(seconds=max(120, 4 * settings.MONITORING_HEARTBEAT_SECONDS))
    if celery_workers_alive(end - span, end + dt.timedelta(minutes=1)):
        return None
    return "no Celery worker heartbeat in the last 2 minutes"


def _queues_short() -> str | None:
    from monitoring.workers import queue_depths

    depths = queue_depths()
    if depths is None:
        return None
    deep = [name for name, depth in depths.items() if depth > settings.MONITORING_QUEUE_MAX]
    return (
        f"queues over {settings.MONITORING_QUEUE_MAX} messages: {', '.join(deep)}" if deep else None
    )


def _ingestion_current() -> str | None:
    from analytics.selectors import live_flow

    end = dt.datetime.now(dt.UTC)
    flow = live_flow(start=end - STATUS_SPAN, end=end + dt.timedelta(seconds=1))
    limit = settings.MONITORING_INGESTION_LAG_MAX_MS
    if flow.lag_p99_ms is not None and flow.lag_p99_ms > limit:
        return f"ingestion lag p99 over {limit} ms"
    return None


def health_checks() -> dict:
    """Return monitoring's checks: name to (check, critical). Only the shared store is
    critical (the web cannot serve figures without it); workers, queues and lag are
    reported without failing readiness, as a web process can serve without them."""
    return {
        "monitoring_store": (live.store_check, True),
        "celery_workers": (_workers_alive, False),
        "celery_queues": (_queues_short, False),
        "ingestion_lag": (_ingestion_current, False),
    }


def status_live() -> dict:
    """Return every live figure over the last five minutes, by key (None where nothing can
    be said, or the read failed)."""
    from monitoring.figures import LIVE_FIGURES

    end = dt.datetime.now(dt.UTC)
    values = {}
    for figure in LIVE_FIGURES:
        try:
            found = figure.read(end - STATUS_SPAN, end)
        except Exception:
            found = None
        values[figure.key] = None if found is None else round(float(found), 2)
    return values

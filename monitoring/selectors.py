"""Reads of monitoring: alert rules, silences and alerts for admin, the staff API and the
acknowledge page; and what monitoring offers the platform's plumbing, its checks for
/api/health and its live figures for /api/status (named in MonitoringConfig, so
mysetlist.core imports no app)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet

from monitoring import live
from monitoring.models import Alert, AlertRule, AnomalyFinding, Silence, VoteFlag
from mysetlist.core.exceptions import NotFoundError
from mysetlist.core.health import health_check

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


def rule_list() -> QuerySet[AlertRule]:
    """Return every alert rule, by name, with its subscribers."""
    return AlertRule.objects.prefetch_related("subscribers").order_by("name")


def rule_get(*, rule_id: int) -> AlertRule:
    """Return one alert rule; NotFoundError if there is none."""
    rule = rule_list().filter(pk=rule_id).first()
    if rule is None:
        raise NotFoundError(f"There is no alert rule {rule_id}.")
    return rule


def silence_list(*, active_at: dt.datetime | None = None) -> QuerySet[Silence]:
    """Return the silences, newest first; those holding at `active_at` only, if given."""
    silences = Silence.objects.select_related("rule", "created_by")
    if active_at is not None:
        silences = silences.filter(starts_at__lte=active_at, ends_at__gt=active_at)
    return silences.order_by("-starts_at", "-id")


def silence_get(*, silence_id: int) -> Silence:
    silence = silence_list().filter(pk=silence_id).first()
    if silence is None:
        raise NotFoundError(f"There is no silence {silence_id}.")
    return silence


def alert_list(*, states: list[str] | None = None, rule_id: int | None = None) -> QuerySet[Alert]:
    """Return the alerts, newest first, filtered by state and rule if asked."""
    alerts = Alert.objects.select_related("rule", "acknowledged_by")
    if states:
        alerts = alerts.filter(state__in=states)
    if rule_id is not None:
        alerts = alerts.filter(rule_id=rule_id)
    return alerts.order_by("-started_at", "-id")


def alert_get(*, alert_id: int) -> Alert:
    """Return one alert; NotFoundError if there is none."""
    alert = alert_list().filter(pk=alert_id).first()
    if alert is None:
        raise NotFoundError(f"There is no alert {alert_id}.")
    return alert


def alerts_by_ids(*, alert_ids: list[int]) -> list[Alert]:
    """Return the alerts of these ids that still exist, in that order."""
    found = {a.pk: a for a in alert_list().filter(pk__in=alert_ids)}
    return [found[i] for i in alert_ids if i in found]


def health_report() -> list[tuple[str, dict]]:
    """Return every health check, the platform's and the apps', by name: {"status": "ok",
    "failing" or "degraded" (a check that is not critical), "ms", "error"}."""
    report = health_check()["checks"]
    out = []
    for name in sorted(report):
        check = report[name]
        status = (
            "ok" if check["ok"] else ("degraded" if check.get("critical") is False else "failing")
        )
        out.append((name, {"status": status, "ms": check["ms"], "error": check.get("error")}))
    return out


def vote_flags_open(*, limit: int = 50) -> tuple[int, list[VoteFlag]]:
    """Return how many vote flags await review and the latest of them, with their show."""
    flags = VoteFlag.objects.filter(status=VoteFlag.Status.OPEN)
    return flags.count(), list(
        flags.select_related("show__artist").order_by("-last_seen_at")[:limit]
    )


def anomaly_findings_recent(*, since: dt.datetime, limit: int = 50) -> list[AnomalyFinding]:
    """Return the anomalies seen since `since`, the latest first."""
    return list(
        AnomalyFinding.objects.filter(window_end__gte=since).order_by("-window_end")[:limit]
    )

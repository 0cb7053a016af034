"""Reading alerting: rules, silences and alerts for admin, the staff API and the
acknowledge page."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from monitoring.models import Alert, AlertRule, Silence
from mysetlist.core.exceptions import NotFoundError


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

"""Writing alerting: rules and silences staff edit, acknowledgements, and the evaluation beat
runs every minute, which moves each rule's alert on and sends what it says to send."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from monitoring import catalog
from monitoring.alerting import rules
from monitoring.anomalies.series import series_get
from monitoring.models import (
    SEVERITY_RANK,
    Alert,
    AlertEvent,
    AlertRule,
    Detection,
    Silence,
)
from mysetlist.core import tiered_cache
from mysetlist.core.exceptions import ApplicationError, ConflictError
from notifications import services as notifications_services

logger = logging.getLogger(__name__)
User = get_user_model()

RULE_FIELDS = {
    "name", "description", "metric", "operator", "threshold", "change", "window_seconds",
    "for_seconds", "keep_firing_for_seconds", "severity", "channels", "repeat_seconds",
    "group_key", "send_resolved", "resolve_message", "enabled", "detection", "sensitivity",
}  # fmt: skip
# A run that finds a rule evaluated this recently skips it: two runs never both count it.
SKIP_IF_EVALUATED_WITHIN = dt.timedelta(seconds=30)
ACKNOWLEDGE_SALT = "monitoring.alerts-acknowledge"
ACKNOWLEDGE_MAX_AGE = 7 * 86400  # seconds a message's acknowledge link works


# Rules and silences


def _subscribers_check(users: Iterable) -> list:
    users = list(users)
    if not_staff := [u.get_username() for u in users if not u.is_staff]:
        raise ValidationError(
            {"subscribers": f"Only staff subscribe to alerts, not {', '.join(not_staff)}."}
        )
    return users


def _fields_check(fields: dict) -> None:
    if unknown := set(fields) - RULE_FIELDS:
        raise TypeError(f"Not fields of an alert rule: {', '.join(sorted(unknown))}")


@transaction.atomic
def rule_create(*, subscribers: Iterable = (), **fields) -> AlertRule:
    """Create an alert rule (every field of AlertRule's but its history); ValidationError
    naming each bad field, and nothing saved, if it is not a rule that can be evaluated."""
    _fields_check(fields)
    users = _subscribers_check(subscribers)
    rule = AlertRule(**fields)
    rule.full_clean()
    rule.save()
    rule.subscribers.set(users)
    return rule


@transaction.atomic
def rule_update(*, rule: AlertRule, subscribers: Iterable | None = None, **fields) -> AlertRule:
    """Change an alert rule's fields given (and its subscribers, if given). Its open alert
    goes on under the new settings from the next evaluation; disabling the rule closes it
    (resolved, or cleared if it had not fired), quietly: nobody is told of a switch-off."""
    _fields_check(fields)
    users = _subscribers_check(subscribers) if subscribers is not None else None
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save(update_fields=[*fields, "updated_at"])
    if users is not None:
        rule.subscribers.set(users)
    if not rule.enabled:
        _alert_close(rule, timezone.now())
    return rule


def _alert_close(rule: AlertRule, now: dt.datetime) -> None:
    alert = Alert.objects.select_for_update().filter(rule=rule, state__in=rules.OPEN_STATES).first()
    if alert is None:
        return
    fired = alert.state != Alert.State.PENDING
    alert.state = Alert.State.RESOLVED if fired else Alert.State.INACTIVE
    alert.resolved_at = now if fired else None
    alert.save(update_fields=["state", "resolved_at", "updated_at"])
    kind = AlertEvent.Kind.RESOLVED if fired else AlertEvent.Kind.INACTIVE
    AlertEvent.objects.create(alert=alert, kind=kind, at=now, value=alert.value)


@transaction.atomic
def silence_create(
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    rule: AlertRule | None = None,
    group_key: str = "",
    comment: str = "",
    by=None,
) -> Silence:
    """Hold back the messages of a rule's alerts, or of every rule of a group, from
    `starts_at` to `ends_at`."""
    silence = Silence(
        rule=rule,
        group_key=group_key,
        starts_at=starts_at,
        ends_at=ends_at,
        comment=comment,
        created_by=by,
    )
    silence.full_clean()
    silence.save()
    return silence


@transaction.atomic
def silence_end(*, silence: Silence, now: dt.datetime | None = None) -> Silence:
    """End a silence now (or keep it ended, if it is over)."""
    now = now or timezone.now()
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at + dt.timedelta(seconds=1))
        silence.save(update_fields=["ends_at"])
    return silence


# Acknowledging


def _alert_state(alert: Alert | None) -> rules.AlertState:
    if alert is None:
        return rules.AlertState()
    return rules.AlertState(
        state=rules.State(alert.state),
        started_at=alert.started_at,
        fired_at=alert.fired_at,
        last_sent_at=alert.last_sent_at,
        clear_since=alert.clear_since,
        resolved_at=alert.resolved_at,
    )


@transaction.atomic
def alert_acknowledge(*, alert: Alert, by, now: dt.datetime | None = None) -> Alert:
    """Acknowledge a firing alert: it is not repeated any more, and still says when it
    resolves. Acknowledging it again changes nothing; ConflictError for an alert that is
    not firing."""
    now = now or timezone.now()
    alert = Alert.objects.select_for_update().select_related("rule").get(pk=alert.pk)
    try:
        acknowledged = rules.acknowledge(_alert_state(alert))
    except rules.NotAcknowledgeable as exc:
        raise ConflictError(str(exc), {"state": alert.state}) from None
    if acknowledged.state != alert.state:
        alert.state = acknowledged.state
        alert.acknowledged_by, alert.acknowledged_at = by, now
        alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at", "updated_at"])
        AlertEvent.objects.create(
            alert=alert, kind=AlertEvent.Kind.ACKNOWLEDGED, at=now, value=alert.value, by=by
        )
    return alert


def acknowledge_token(alert_ids: Iterable[int]) -> str:
    """The credential of a message's acknowledge link: the alerts it names, signed."""
    return signing.dumps(sorted(alert_ids), salt=ACKNOWLEDGE_SALT, compress=True)


def acknowledge_token_alert_ids(token: str) -> list[int] | None:
    """The alerts an acknowledge link names, or None if it is not one of ours or too old."""
    try:
        ids = signing.loads(token, salt=ACKNOWLEDGE_SALT, max_age=ACKNOWLEDGE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return None
    return ids


# Evaluating


@dataclass(frozen=True)
class EvaluationReport:
    evaluated: int
    skipped: int
    transitions: int
    messages: int


def _settings(rule: AlertRule) -> rules.RuleSettings:
    if rule.detection == Detection.ANOMALY:
        # The value is the robust z-score in the series' unusual direction.
        return rules.RuleSettings(
            operator="gt",
            threshold=rule.sensitivity,
            for_seconds=rule.for_seconds,
            keep_firing_for_seconds=rule.keep_firing_for_seconds,
            repeat_seconds=rule.repeat_seconds,
        )
    return rules.RuleSettings(
        operator=rule.operator,
        threshold=rule.threshold,
        for_seconds=rule.for_seconds,
        keep_firing_for_seconds=rule.keep_firing_for_seconds,
        repeat_seconds=rule.repeat_seconds,
        change=rule.change,
    )


def _read(rule: AlertRule, start: dt.datetime, end: dt.datetime) -> float | None:
    """The figure over [start, end); no data when it cannot be read (an unregistered figure,
    a reader that failed), logged, so one broken figure stops no other rule. An anomaly
    rule's value is its series' highest score over the window ending at `end`."""
    try:
        if rule.detection == Detection.ANOMALY:
            from monitoring.anomalies.services import rule_score

            with transaction.atomic():  # a failed read rolls back its findings alone
                return rule_score(rule=rule, now=end)
        return catalog.value(rule.metric, start, end)
    except Exception:
        logger.exception("alert rule %s: the figure %r could not be read", rule.pk, rule.metric)
        return None


def silenced(rule: AlertRule, now: dt.datetime) -> bool:
    """Return whether a silence holds back the rule's messages at `now`."""
    matches = Q(rule=rule)
    if rule.group_key:
        matches |= Q(group_key=rule.group_key)
    return Silence.objects.filter(matches, starts_at__lte=now, ends_at__gt=now).exists()


_EVENT_KINDS = {
    rules.State.PENDING: AlertEvent.Kind.PENDING,
    rules.State.FIRING: AlertEvent.Kind.FIRING,
    rules.State.RESOLVED: AlertEvent.Kind.RESOLVED,
    rules.State.INACTIVE: AlertEvent.Kind.INACTIVE,
}


@transaction.atomic
def _rule_evaluate(*, rule_id: int, now: dt.datetime) -> int | None:
    """Evaluate one rule; return its transitions (0 or 1), or None if it was skipped."""
    rule = (
        AlertRule.objects.select_for_update(skip_locked=True)
        .filter(pk=rule_id, enabled=True)
        .first()
    )
    if rule is None:
        return None  # disabled meanwhile, or another run holds it
    if rule.last_evaluated_at and rule.last_evaluated_at > now - SKIP_IF_EVALUATED_WITHIN:
        return None
    window = dt.timedelta(seconds=rule.window_seconds)
    value = _read(rule, now - window, now)
    previous = None
    if rule.change and rule.detection != Detection.ANOMALY:
        previous = _read(rule, now - 2 * window, now - window)
    quiet = silenced(rule, now)
    alert = Alert.objects.filter(rule=rule, state__in=rules.OPEN_STATES).first()
    result = rules.step(
        _settings(rule), _alert_state(alert), rules.Evaluation(now, value, previous, quiet)
    )

    rule.last_evaluated_at, rule.last_value = now, result.observed
    rule.save(update_fields=["last_evaluated_at", "last_value"])
    new = result.state
    if alert is None and new.state in (rules.State.INACTIVE, rules.State.RESOLVED):
        return 0
    if alert is None:
        alert = Alert(rule=rule, started_at=new.started_at)
    alert.state = new.state
    alert.fired_at, alert.last_sent_at = new.fired_at, new.last_sent_at
    alert.clear_since, alert.resolved_at = new.clear_since, new.resolved_at
    alert.silenced = quiet
    if result.observed is not None:
        alert.value = result.observed
    alert.save()

    send = result.send
    if send == rules.Send.RESOLVE and not rule.send_resolved:
        send = rules.Send.NOTHING
    if result.transition is not None:
        kind = _EVENT_KINDS[result.transition]
    elif send == rules.Send.REPEAT:
        kind = AlertEvent.Kind.REPEATED
    elif send == rules.Send.FIRE:
        kind = AlertEvent.Kind.FIRING  # the first message of an alert that fired silenced
    else:
        return 0
    AlertEvent.objects.create(
        alert=alert, kind=kind, at=now, value=result.observed, silenced=quiet, send=str(send)
    )
    return 1 if result.transition is not None else 0


def alerts_evaluate(*, now: dt.datetime | None = None) -> EvaluationReport:
    """Evaluate every enabled rule at `now`, record what changed, and send the messages the
    changes call for, one per group (see alert_messages_send). Each rule is evaluated in its
    own transaction, so a slow figure holds no other rule's lock."""
    now = now or timezone.now()
    evaluated = skipped = transitions = 0
    for rule_id in AlertRule.objects.filter(enabled=True).values_list("pk", flat=True):
        changed = _rule_evaluate(rule_id=rule_id, now=now)
        if changed is None:
            skipped += 1
        else:
            evaluated += 1
            transitions += changed
    messages = alert_messages_send(now=now)
    return EvaluationReport(evaluated, skipped, transitions, messages)


# Sending


def _figure_words(metric: str) -> tuple[str, str]:
    try:
        figure = catalog.figure_get(metric)
    except ApplicationError:
        return metric, ""
    return figure.name, figure.unit


def _seasonal_name(key: str) -> str:
    try:
        return series_get(key).name
    except ApplicationError:
        return key


def _number(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"


def _line(event: AlertEvent) -> str:
    """One alert in a message, in words."""
    alert, rule = event.alert, event.alert.rule
    name, unit = _figure_words(rule.metric)
    words = rules.WORDS[rule.operator]
    if rule.detection == Detection.ANOMALY:
        name = _seasonal_name(rule.metric)
        measured = (
            f"{name} over {rule.window_seconds // 60} min against the same time of past weeks"
        )
        figures = f"{_number(event.value)} robust SDs from usual, above {_number(rule.sensitivity)}"
    elif rule.change:
        measured = f"{name}, change on the previous {rule.window_seconds // 60} min"
        figures = f"{_number(event.value)} %, {words} {_number(rule.threshold)} %"
    else:
        measured = f"{name} over {rule.window_seconds // 60} min"
        figures = f"{_number(event.value)} {unit}, {words} {_number(rule.threshold)} {unit}"
    head = f"{rule.name} [{rule.severity}]: {measured}"
    if event.send == AlertEvent.Send.RESOLVE:
        since = alert.fired_at or alert.started_at
        text = f"{head}: resolved at {event.at:%H:%M} UTC (firing since {since:%H:%M} UTC)"
        if rule.resolve_message:
            text += f". {rule.resolve_message}"
        return text
    fired = alert.fired_at or event.at
    again = " (reminder)" if event.send == AlertEvent.Send.REPEAT else ""
    return f"{head} is {figures}, firing since {fired:%Y-%m-%d %H:%M} UTC{again}"


def _acknowledge_url(alert_ids: list[int]) -> str:
    token = acknowledge_token(alert_ids)
    try:
        return reverse("monitoring:alerts-acknowledge", args=[token])
    except NoReverseMatch:  # the page is not mounted: admin's list of alerts
        return reverse("admin:monitoring_alert_changelist")


def _message_key(category: str, events: list[AlertEvent]) -> str:
    ids = "-".join(str(e.pk) for e in events)
    if len(ids) > 120:
        ids = hashlib.sha256(ids.encode()).hexdigest()[:32]
    return f"{category}:{ids}"


def _message_send(group: str, firing: bool, events: list[AlertEvent], user_ids: list[int]):
    worst = max((e.alert.rule.severity for e in events), key=SEVERITY_RANK.__getitem__)
    names = sorted({e.alert.rule.name for e in events})
    category = "alert_firing" if firing else "alert_resolved"
    if len(events) == 1:
        summary = f"{names[0]} {'is firing' if firing else 'resolved'} ({worst})"
    else:
        in_group = f" in {group}" if not group.startswith("rule-") else ""
        summary = f"{len(events)} alerts {'firing' if firing else 'resolved'}{in_group} ({worst})"
    return notifications_services.notify(
        category=category,
        user_ids=user_ids,
        key=_message_key(category, events),
        # The channels the group's rules name, within each subscriber's own preferences.
        channels=sorted({c for e in events for c in e.alert.rule.channels}),
        context={
            "summary": summary,
            "alerts": [_line(e) for e in events],
            "severity": worst,
            "url": _acknowledge_url(sorted({e.alert_id for e in events})),
        },
    )


@transaction.atomic
def alert_messages_send(*, now: dt.datetime | None = None) -> int:
    """Send the messages recorded but not yet sent: for each group of rules, the alerts that
    fired (or are repeated) in one message and those resolved in another, to the active staff
    who subscribe to each. A user who subscribes to some of a group's rules hears of those
    only. Recorded as sent in the same transaction, so a message is never sent twice, and one
    a crash lost goes with the next run. Return how many notifications were made."""
    now = now or timezone.now()
    events = list(
        AlertEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(notified_at=None)
        .exclude(send="")
        .select_related("alert__rule")
        .order_by("at", "id")
    )
    if not events:
        return 0
    rule_ids = {e.alert.rule_id for e in events}
    subscribed: dict[int, set[int]] = defaultdict(set)
    for rule_id, user_id in AlertRule.subscribers.through.objects.filter(
        alertrule_id__in=rule_ids, user__is_staff=True, user__is_active=True
    ).values_list("alertrule_id", "user_id"):
        subscribed[rule_id].add(user_id)

    messages: dict[tuple[str, bool], list[AlertEvent]] = defaultdict(list)
    for event in events:
        firing = event.send != AlertEvent.Send.RESOLVE
        messages[(event.alert.rule.group, firing)].append(event)
    made = 0
    for (group, firing), grouped in messages.items():
        # the recipients who get the same alerts get one message
        by_alerts: dict[tuple[int, ...], list[int]] = defaultdict(list)
        users = set().union(*(subscribed[e.alert.rule_id] for e in grouped))
        for user_id in users:
            theirs = tuple(e.pk for e in grouped if user_id in subscribed[e.alert.rule_id])
            by_alerts[theirs].append(user_id)
        for ids, user_ids in by_alerts.items():
            chosen = [e for e in grouped if e.pk in ids]
            made += _message_send(group, firing, chosen, user_ids)
    AlertEvent.objects.filter(pk__in=[e.pk for e in events]).update(notified_at=now)
    return made


def caches_clear(*, by: User) -> None:
    """Empty every namespace of the tiered cache in every process (each within its version
    check, a second), logged with who asked."""
    tiered_cache.clear()
    logger.warning("Caches cleared by %s (user %s)", by.get_username(), by.pk)

"""The state machine of one alert rule's alert, evaluated once a minute. Pure Python: the
services load the rule and its open alert, read the figure and ask this what happens.

It follows Prometheus' alerting rules and Alertmanager's notification timers:

- A rule whose condition holds goes PENDING; it FIRES once the condition has held for
  `for_seconds` (at once with 0). A pending alert whose condition clears goes back to
  INACTIVE with nothing sent, as Prometheus drops it.
- A firing alert whose condition clears keeps firing until it has been clear for
  `keep_firing_for_seconds` (counted, as Prometheus does, from the first evaluation that
  found it clear); holding again in the meantime resets that count. Then it is RESOLVED.
- A firing alert is sent once when it fires and again every `repeat_seconds` while it fires
  (Alertmanager's repeat_interval); a resolve message goes only to whom a firing one went.
- A silence suppresses every send but the state moves on as usual; once the silence is over,
  a firing alert nobody was told of is sent at the next evaluation.
- An ACKNOWLEDGED alert still resolves (and says so) but is not repeated any more.
- No data (the figure's value is None, or a percentage change against a previous window
  that had none or zero) says nothing either way: no state changes and no timer moves, but a
  firing alert's repeats go on, since it is still unresolved. Prometheus resolves an alert
  whose series disappears; here a figure that cannot be read is not taken as good news
  (Grafana's "keep last state" for no data).
"""

from __future__ import annotations

import datetime as dt
import enum
import operator as op
from dataclasses import dataclass, replace


class State(enum.StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_STATES = (State.PENDING, State.FIRING, State.ACKNOWLEDGED)


class Send(enum.StrEnum):
    NOTHING = ""
    FIRE = "fire"
    REPEAT = "repeat"
    RESOLVE = "resolve"


OPERATORS = {
    "gt": op.gt,
    "gte": op.ge,
    "lt": op.lt,
    "lte": op.le,
    "eq": op.eq,
}
# In words, for messages: a text email escapes "<" and ">" as HTML.
WORDS = {"gt": "above", "gte": "at or above", "lt": "below", "lte": "at or below", "eq": "equal to"}


@dataclass(frozen=True)
class RuleSettings:
    operator: str  # a key of OPERATORS
    threshold: float
    for_seconds: int = 0
    keep_firing_for_seconds: int = 0
    repeat_seconds: int = 3600
    change: bool = False  # compare the percentage change against the previous window


@dataclass(frozen=True)
class AlertState:
    state: State = State.INACTIVE
    started_at: dt.datetime | None = None  # when the condition began to hold (pending)
    fired_at: dt.datetime | None = None
    last_sent_at: dt.datetime | None = None  # the last firing message (fire or repeat)
    clear_since: dt.datetime | None = None  # the first evaluation a firing alert found clear
    resolved_at: dt.datetime | None = None


@dataclass(frozen=True)
class Evaluation:
    now: dt.datetime
    value: float | None  # the figure over the window
    previous: float | None = None  # over the window before, for a percentage change
    silenced: bool = False


@dataclass(frozen=True)
class Step:
    state: AlertState
    send: Send
    transition: State | None  # the new state when it changed, else None
    observed: float | None  # what was compared with the threshold
    holds: bool | None  # None: no data


def observed_value(settings: RuleSettings, value: float | None, previous: float | None):
    """Return what the rule compares with its threshold: the value, or its percentage change
    against the previous window (None when either is missing or the previous one is zero)."""
    if value is None:
        return None
    if not settings.change:
        return float(value)
    if previous is None or previous == 0:
        return None
    return (value - previous) / abs(previous) * 100.0


def condition_holds(settings: RuleSettings, observed: float | None) -> bool | None:
    """Return whether the condition holds for `observed`; None when there is no data."""
    if observed is None:
        return None
    return OPERATORS[settings.operator](observed, settings.threshold)


def _elapsed(since: dt.datetime | None, now: dt.datetime) -> float:
    return (now - since).total_seconds() if since else 0.0


def _firing_send(settings: RuleSettings, alert: AlertState, ev: Evaluation) -> Send:
    """What a firing (not acknowledged) alert sends at this evaluation."""
    if ev.silenced:
        return Send.NOTHING
    if alert.last_sent_at is None:
        return Send.FIRE
    if _elapsed(alert.last_sent_at, ev.now) >= settings.repeat_seconds:
        return Send.REPEAT
    return Send.NOTHING


def _fire(settings: RuleSettings, alert: AlertState, ev: Evaluation) -> tuple[AlertState, Send]:
    fired = replace(alert, state=State.FIRING, fired_at=ev.now, clear_since=None)
    send = Send.NOTHING if ev.silenced else Send.FIRE
    if send:
        fired = replace(fired, last_sent_at=ev.now)
    return fired, send


def step(settings: RuleSettings, prior: AlertState, ev: Evaluation) -> Step:
    """Return the alert's state after the evaluation `ev`, and what to send."""
    observed = observed_value(settings, ev.value, ev.previous)
    holds = condition_holds(settings, observed)

    def done(state: AlertState, send: Send = Send.NOTHING) -> Step:
        changed = state.state if state.state != prior.state else None
        return Step(state, send, changed, observed, holds)

    if prior.state in (State.INACTIVE, State.RESOLVED):
        if not holds:
            return done(AlertState() if prior.state == State.INACTIVE else prior)
        pending = AlertState(state=State.PENDING, started_at=ev.now)
        if settings.for_seconds <= 0:
            return done(*_fire(settings, pending, ev))
        return done(pending)

    if prior.state == State.PENDING:
        if holds is None:
            return done(prior)  # no evidence it still holds: it waits, and cannot fire
        if not holds:
            return done(AlertState())
        if _elapsed(prior.started_at, ev.now) >= settings.for_seconds:
            return done(*_fire(settings, prior, ev))
        return done(prior)

    # FIRING or ACKNOWLEDGED
    alert = prior
    if holds:
        alert = replace(alert, clear_since=None)
    elif holds is False:
        clear_since = alert.clear_since or ev.now
        alert = replace(alert, clear_since=clear_since)
        if _elapsed(clear_since, ev.now) >= settings.keep_firing_for_seconds:
            told = alert.last_sent_at is not None
            resolved = replace(alert, state=State.RESOLVED, resolved_at=ev.now)
            send = Send.RESOLVE if told and not ev.silenced else Send.NOTHING
            return done(resolved, send)
    if alert.state == State.ACKNOWLEDGED:
        return done(alert)
    send = _firing_send(settings, alert, ev)
    if send:
        alert = replace(alert, last_sent_at=ev.now)
    return done(alert, send)


class NotAcknowledgeable(ValueError):
    """Only a firing alert can be acknowledged."""


def acknowledge(prior: AlertState) -> AlertState:
    """Return a firing alert acknowledged: it still resolves, but is not repeated any more.
    An acknowledged one stays as it is."""
    if prior.state == State.ACKNOWLEDGED:
        return prior
    if prior.state != State.FIRING:
        raise NotAcknowledgeable(
            f"A {prior.state} alert cannot be acknowledged; only a firing one."
        )
    return replace(prior, state=State.ACKNOWLEDGED)

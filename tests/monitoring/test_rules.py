"""The state machine of one rule's alert, on its own: minutes simulated, values given."""

import datetime as dt

import pytest

from monitoring.alerting.rules import (
    AlertState,
    Evaluation,
    NotAcknowledgeable,
    RuleSettings,
    Send,
    State,
    acknowledge,
    condition_holds,
    observed_value,
    step,
)

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def at(minute: int) -> dt.datetime:
    return T0 + minute * MINUTE


def run(settings, values, *, start=None, silenced=(), first=0):
    """Evaluate one value a minute; return each step. `silenced`: minutes under a silence."""
    steps, state = [], start or AlertState()
    for i, value in enumerate(values, start=first):
        result = step(settings, state, Evaluation(at(i), value, silenced=i in silenced))
        steps.append(result)
        state = result.state
    return steps


def sends(steps):
    return [(i, s.send) for i, s in enumerate(steps) if s.send]


def states(steps):
    return [s.state.state for s in steps]


ABOVE_10 = RuleSettings(operator="gt", threshold=10, for_seconds=120, repeat_seconds=600)


@pytest.mark.parametrize(
    "operator,value,expected",
    [
        ("gt", 11, True), ("gt", 10, False), ("gte", 10, True), ("gte", 9.9, False),
        ("lt", 9, True), ("lt", 10, False), ("lte", 10, True), ("lte", 10.1, False),
        ("eq", 10, True), ("eq", 10.5, False), ("gt", None, None),
    ],
)  # fmt: skip
def test_condition_holds_by_operator(operator, value, expected):
    assert condition_holds(RuleSettings(operator=operator, threshold=10), value) is expected


def test_observed_value_is_a_percentage_change_against_the_previous_window():
    change = RuleSettings(operator="gt", threshold=50, change=True)
    assert observed_value(change, 150, 100) == 50.0
    assert observed_value(change, 50, 100) == -50.0
    assert observed_value(change, 5, -10) == 150.0  # against the size of the previous one
    assert observed_value(change, 150, 0) is None  # no change from nothing
    assert observed_value(change, 150, None) is None
    assert observed_value(change, None, 100) is None
    assert observed_value(RuleSettings(operator="gt", threshold=1), 7, None) == 7.0


def test_a_rule_goes_pending_then_fires_after_for():
    steps = run(ABOVE_10, [5, 11, 12, 13, 14])
    assert states(steps) == [
        State.INACTIVE,
        State.PENDING,
        State.PENDING,
        State.FIRING,
        State.FIRING,
    ]
    assert sends(steps) == [(3, Send.FIRE)]
    assert steps[1].transition == State.PENDING and steps[2].transition is None
    assert steps[3].transition == State.FIRING
    assert steps[3].state.started_at == at(1) and steps[3].state.fired_at == at(3)


def test_a_rule_with_no_for_fires_at_once():
    steps = run(RuleSettings(operator="gt", threshold=10), [11])
    assert steps[0].state.state == State.FIRING and steps[0].send == Send.FIRE


def test_a_pending_alert_that_clears_goes_back_to_inactive_without_a_message():
    steps = run(ABOVE_10, [11, 12, 3, 11])
    assert states(steps) == [State.PENDING, State.PENDING, State.INACTIVE, State.PENDING]
    assert sends(steps) == []
    assert steps[2].transition == State.INACTIVE
    assert steps[3].state.started_at == at(3)  # the wait starts over


def test_a_firing_alert_repeats_only_after_the_cooldown():
    settings = RuleSettings(operator="gt", threshold=10, repeat_seconds=300)
    steps = run(settings, [11] * 12)
    assert sends(steps) == [(0, Send.FIRE), (5, Send.REPEAT), (10, Send.REPEAT)]
    assert steps[10].state.last_sent_at == at(10)


def test_a_firing_alert_resolves_when_it_clears_and_says_so():
    settings = RuleSettings(operator="gt", threshold=10)
    steps = run(settings, [11, 11, 4, 11])
    assert states(steps)[:3] == [State.FIRING, State.FIRING, State.RESOLVED]
    assert sends(steps) == [(0, Send.FIRE), (2, Send.RESOLVE), (3, Send.FIRE)]
    assert steps[2].state.resolved_at == at(2)
    assert steps[3].state.started_at == at(3)  # a new alert, not the resolved one again


def test_keep_firing_for_holds_a_firing_alert_through_a_flap():
    settings = RuleSettings(operator="gt", threshold=10, keep_firing_for_seconds=180)
    steps = run(settings, [11, 4, 4, 11, 4, 4, 4, 4])
    # clear at 1 and 2, holding again at 3 resets the count; clear from 4, resolved at 7
    assert states(steps) == [State.FIRING] * 7 + [State.RESOLVED]
    assert sends(steps) == [(0, Send.FIRE), (7, Send.RESOLVE)]
    assert steps[5].state.clear_since == at(4)


def test_a_silence_suppresses_sends_but_the_state_moves_on():
    settings = RuleSettings(operator="gt", threshold=10, for_seconds=60, repeat_seconds=300)
    steps = run(settings, [11, 11, 11, 11, 11], silenced={0, 1, 2})
    assert states(steps) == [State.PENDING] + [State.FIRING] * 4
    assert steps[1].transition == State.FIRING and steps[1].send == Send.NOTHING
    assert steps[1].state.last_sent_at is None
    # once the silence is over, the alert nobody heard of is sent
    assert sends(steps) == [(3, Send.FIRE)]


def test_a_silence_suppresses_the_resolve_message_too():
    settings = RuleSettings(operator="gt", threshold=10)
    steps = run(settings, [11, 4], silenced={1})
    assert states(steps) == [State.FIRING, State.RESOLVED]
    assert sends(steps) == [(0, Send.FIRE)]


def test_an_alert_that_resolves_unheard_sends_no_resolve_message():
    steps = run(RuleSettings(operator="gt", threshold=10), [11, 4], silenced={0})
    assert states(steps) == [State.FIRING, State.RESOLVED] and sends(steps) == []


def test_an_acknowledged_alert_is_not_repeated_but_still_resolves():
    settings = RuleSettings(operator="gt", threshold=10, repeat_seconds=120)
    first = run(settings, [11])
    acked = acknowledge(first[-1].state)
    assert acked.state == State.ACKNOWLEDGED
    later = run(settings, [11] * 6 + [3], start=acked, first=1)
    assert states(later) == [State.ACKNOWLEDGED] * 6 + [State.RESOLVED]
    assert sends(later) == [(6, Send.RESOLVE)]


def test_only_a_firing_alert_can_be_acknowledged():
    pending = run(ABOVE_10, [11])[-1].state
    with pytest.raises(NotAcknowledgeable, match="pending"):
        acknowledge(pending)
    with pytest.raises(NotAcknowledgeable):
        acknowledge(AlertState(state=State.RESOLVED))
    acked = acknowledge(AlertState(state=State.FIRING, fired_at=T0))
    assert acknowledge(acked) is acked  # twice is once


def test_no_data_changes_no_state_and_moves_no_timer():
    # inactive stays inactive
    assert states(run(ABOVE_10, [None, None])) == [State.INACTIVE, State.INACTIVE]
    # pending waits and cannot fire on no data, even past `for`
    steps = run(ABOVE_10, [11, None, None, None])
    assert states(steps) == [State.PENDING] * 4 and sends(steps) == []
    assert all(s.holds is None for s in steps[1:])
    # a firing alert neither resolves nor starts its keep-firing count, but still repeats
    settings = RuleSettings(operator="gt", threshold=10, repeat_seconds=120)
    steps = run(settings, [11, None, None, None])
    assert states(steps) == [State.FIRING] * 4
    assert sends(steps) == [(0, Send.FIRE), (2, Send.REPEAT)]
    assert all(s.state.clear_since is None for s in steps)


def test_no_data_in_a_keep_firing_period_does_not_resolve_it():
    settings = RuleSettings(operator="gt", threshold=10, keep_firing_for_seconds=120)
    steps = run(settings, [11, 4, None, None, None, 4])
    assert states(steps) == [State.FIRING] * 5 + [State.RESOLVED]
    assert steps[4].state.clear_since == at(1)


def test_a_percentage_change_rule_fires_on_the_change():
    settings = RuleSettings(operator="gte", threshold=50, change=True)
    quiet = step(settings, AlertState(), Evaluation(T0, 120, previous=100))
    assert quiet.state.state == State.INACTIVE and quiet.observed == 20.0
    jump = step(settings, AlertState(), Evaluation(T0, 150, previous=100))
    assert jump.state.state == State.FIRING and jump.send == Send.FIRE
    no_base = step(settings, AlertState(), Evaluation(T0, 150, previous=0))
    assert no_base.holds is None and no_base.state.state == State.INACTIVE

"""Alert rules end to end: injected figure values through alerts_evaluate over simulated
minutes, with real notification deliveries (locmem email, in-app rows)."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from monitoring import services
from monitoring.models import Alert, AlertEvent, AlertRule, Silence
from mysetlist.core.exceptions import ConflictError
from notifications import selectors as notifications_selectors
from notifications.models import Delivery
from tests.monitoring.conftest import minute
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def evaluate(django_capture_on_commit_callbacks, injected):
    """Evaluate at minute `n` with the figure at `value`; deliveries are sent on commit."""

    def run(n: int, value):
        injected.now = value
        with django_capture_on_commit_callbacks(execute=True):
            return services.alerts_evaluate(now=minute(n))

    return run


def make_rule(subscribers, **fields):
    values = {
        "name": "Errors high", "metric": "test_error_rate", "operator": "gt", "threshold": 5,
        "window_seconds": 60, "for_seconds": 120, "repeat_seconds": 300, "severity": "critical",
    } | fields  # fmt: skip
    return services.rule_create(subscribers=subscribers, **values)


def inbox(user):
    return list(notifications_selectors.inbox_list(user=user))


def test_a_rule_goes_pending_fires_once_repeats_after_cooldown_is_silenced_and_resolves(
    evaluate, injected, staff
):
    fan = UserFactory()  # not subscribed: hears nothing
    rule = make_rule([staff], resolve_message="Nothing more to do.")

    evaluate(0, 1)
    assert not Alert.objects.exists()
    evaluate(1, 7)
    alert = Alert.objects.get()
    assert alert.state == "pending" and alert.started_at == minute(1) and alert.value == 7
    evaluate(2, 8)
    assert Alert.objects.get().state == "pending" and mail.outbox == []

    report = evaluate(3, 9)  # held for `for` (120 s): fires, one message
    alert.refresh_from_db()
    assert alert.state == "firing" and alert.fired_at == minute(3)
    assert report.transitions == 1 and report.messages == 1
    (fired,) = mail.outbox
    assert fired.to == [staff.email]
    assert fired.subject == "[CRITICAL] Errors high is firing (critical)"
    assert "Error rate over 1 min is 9 %, above 5 %" in fired.body
    assert [n.category for n in inbox(staff)] == ["alert_firing"]
    assert inbox(fan) == []

    for n in range(4, 8):  # within the cooldown: nothing more
        evaluate(n, 9)
    assert len(mail.outbox) == 1
    evaluate(8, 9)  # 300 s after it fired: again
    assert len(mail.outbox) == 2 and "(reminder)" in mail.outbox[1].body

    silence = services.silence_create(
        rule=rule, starts_at=minute(9), ends_at=minute(14), comment="deploying", by=staff
    )
    for n in range(9, 14):  # a repeat is due at 13: held back
        evaluate(n, 9)
    assert len(mail.outbox) == 2
    assert Alert.objects.get().silenced is True
    evaluate(14, 9)  # the silence is over and a repeat is overdue
    assert len(mail.outbox) == 3
    assert silence.pk and Alert.objects.get().silenced is False

    evaluate(15, 2)  # clears: resolved (no keep_firing_for), with its message
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_at == minute(15)
    resolved = mail.outbox[3]
    assert resolved.subject == "[RESOLVED] Errors high resolved (critical)"
    assert "resolved at 12:15 UTC (firing since 12:03 UTC). Nothing more to do." in resolved.body
    assert [n.category for n in inbox(staff)] == ["alert_resolved"] + ["alert_firing"] * 3
    kinds = list(AlertEvent.objects.filter(alert=alert).values_list("kind", "send"))
    assert kinds == [
        ("pending", ""), ("firing", "fire"), ("repeated", "repeat"), ("repeated", "repeat"),
        ("resolved", "resolve"),
    ]  # fmt: skip
    assert not AlertEvent.objects.filter(notified_at=None).exclude(send="").exists()

    evaluate(16, 2)  # quiet again: nothing new
    assert len(mail.outbox) == 4 and Alert.objects.count() == 1


def test_a_rules_channels_decide_where_its_message_goes(evaluate, staff):
    make_rule([staff], for_seconds=0, channels=["in_app"])

    evaluate(0, 9)

    assert Alert.objects.get().state == "firing"
    assert mail.outbox == []  # the subscriber takes email, but the rule names in-app only
    assert len(inbox(staff)) == 1
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"in_app"}


def test_disabling_a_rule_closes_its_open_alert_quietly(evaluate, staff):
    firing = make_rule([staff], for_seconds=0)
    pending = make_rule([staff], name="Slow burn", for_seconds=600)
    evaluate(0, 9)
    sent = len(mail.outbox)

    services.rule_update(rule=firing, enabled=False)
    services.rule_update(rule=pending, enabled=False)

    states = dict(Alert.objects.values_list("rule__name", "state"))
    assert states == {"Errors high": "resolved", "Slow burn": "inactive"}
    assert Alert.objects.get(rule=firing).resolved_at is not None
    evaluate(1, 9)  # disabled: not evaluated, no new alert
    assert Alert.objects.count() == 2 and len(mail.outbox) == sent


def test_a_pending_alert_that_clears_sends_nothing(evaluate, staff):
    make_rule([staff])
    evaluate(0, 7)
    evaluate(1, 1)
    assert Alert.objects.get().state == "inactive"
    assert AlertEvent.objects.filter(kind="inactive").count() == 1
    assert mail.outbox == []


def test_keep_firing_for_holds_the_alert_through_a_dip(evaluate, staff):
    make_rule([staff], for_seconds=0, keep_firing_for_seconds=120)
    evaluate(0, 9)
    evaluate(1, 1)
    evaluate(2, 9)  # back before the keep-firing time ran out
    evaluate(3, 1)
    evaluate(4, 1)
    assert Alert.objects.get().state == "firing"
    evaluate(5, 1)  # clear for 120 s
    assert Alert.objects.get().state == "resolved"
    assert [m.subject.split("]")[0] for m in mail.outbox] == ["[CRITICAL", "[RESOLVED"]


def test_alerts_of_one_group_that_change_together_go_out_as_one_message(evaluate, staff):
    other = UserFactory(username="dba", is_staff=True)
    make_rule([staff], name="Errors high", for_seconds=0, group_key="api")
    make_rule([staff, other], name="Errors very high", threshold=8, for_seconds=0, group_key="api")
    make_rule([staff], name="Errors elsewhere", for_seconds=0, severity="info")

    evaluate(0, 9)

    to_staff = sorted(m.subject for m in mail.outbox if m.to == [staff.email])
    assert to_staff == [
        "[CRITICAL] 2 alerts firing in api (critical)",
        "[INFO] Errors elsewhere is firing (info)",
    ]
    grouped = next(m for m in mail.outbox if "2 alerts" in m.subject)
    assert (
        "Errors high [critical]" in grouped.body and "Errors very high [critical]" in grouped.body
    )
    # a subscriber of one rule of the group hears of that one only
    (theirs,) = [m for m in mail.outbox if m.to == [other.email]]
    assert theirs.subject == "[CRITICAL] Errors very high is firing (critical)"


def test_a_silence_on_a_group_holds_back_its_rules_only(evaluate, staff):
    make_rule([staff], name="Grouped", for_seconds=0, group_key="api")
    make_rule([staff], name="Alone", for_seconds=0)
    services.silence_create(group_key="api", starts_at=minute(0), ends_at=minute(30))
    evaluate(0, 9)
    assert [m.subject for m in mail.outbox] == ["[CRITICAL] Alone is firing (critical)"]
    assert Alert.objects.get(rule__name="Grouped").state == "firing"


def test_acknowledging_from_the_message_stops_repeats_until_it_resolves(evaluate, staff):
    make_rule([staff], for_seconds=0, repeat_seconds=120)
    evaluate(0, 9)
    (fired,) = mail.outbox
    (tracked,) = re.findall(r"http://testserver/notifications/c/\S+/", fired.body)
    landing = Client().get(urlsplit(tracked).path)
    assert landing.status_code == 302
    page = landing["Location"]
    assert page.startswith("/monitoring/alerts/ack/")

    assert Client().get(page).status_code == 302  # to the log-in page: staff only
    client = Client()
    client.force_login(staff)
    shown = client.get(page)
    assert shown.status_code == 200 and b"Errors high" in shown.content
    assert Alert.objects.get().state == "firing"  # looking changes nothing
    done = client.post(page, follow=True)
    assert done.status_code == 200 and b"acknowledged" in done.content
    alert = Alert.objects.get()
    assert alert.state == "acknowledged" and alert.acknowledged_by == staff

    for n in range(1, 6):
        evaluate(n, 9)
    assert len(mail.outbox) == 1  # no repeats once acknowledged
    evaluate(6, 1)
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("[RESOLVED]")
    assert Alert.objects.get().state == "resolved"


def test_a_forged_or_foreign_acknowledge_link_is_refused(staff):
    client = Client()
    client.force_login(staff)
    response = client.get("/monitoring/alerts/ack/not-a-token/")
    assert response.status_code == 404 and b"not valid" in response.content


def test_acknowledge_is_refused_for_an_alert_that_is_not_firing(evaluate, staff):
    make_rule([staff])
    evaluate(0, 9)  # pending
    with pytest.raises(ConflictError, match="pending"):
        services.alert_acknowledge(alert=Alert.objects.get(), by=staff)
    assert not AlertEvent.objects.filter(kind="acknowledged").exists()


def test_no_data_keeps_a_firing_alert_firing(evaluate, staff):
    make_rule([staff], for_seconds=0)
    evaluate(0, 9)
    evaluate(1, None)
    alert = Alert.objects.get()
    assert alert.state == "firing" and alert.value == 9
    assert AlertRule.objects.get().last_value is None


def test_a_percentage_change_rule_reads_the_previous_window(evaluate, injected, staff):
    make_rule([staff], name="Jump", threshold=50, change=True, for_seconds=0, window_seconds=300)
    injected.by_end[minute(0) - (minute(5) - minute(0))] = 100  # the window before
    evaluate(0, 160)
    assert Alert.objects.get().state == "firing" and Alert.objects.get().value == 60
    assert (minute(0) - 2 * (minute(5) - minute(0)), minute(-5)) in injected.reads


def test_a_broken_figure_is_no_data_and_stops_no_other_rule(evaluate, staff):
    broken = make_rule([staff], name="Gone")
    AlertRule.objects.filter(pk=broken.pk).update(metric="unregistered")
    make_rule([staff], name="Fine", for_seconds=0)
    report = evaluate(0, 9)
    assert report.evaluated == 2
    assert list(Alert.objects.values_list("rule__name", flat=True)) == ["Fine"]


def test_a_second_run_in_the_same_minute_evaluates_nothing_again(evaluate, staff):
    make_rule([staff], for_seconds=0)
    evaluate(0, 9)
    again = evaluate(0, 9)
    assert again.evaluated == 0 and again.skipped == 1 and len(mail.outbox) == 1


def test_a_message_a_crash_left_unsent_goes_with_the_next_run(evaluate, staff, monkeypatch):
    make_rule([staff], for_seconds=0)
    monkeypatch.setattr(services, "alert_messages_send", lambda now: 0)
    evaluate(0, 9)
    assert mail.outbox == [] and AlertEvent.objects.filter(notified_at=None, send="fire")
    monkeypatch.undo()
    evaluate(1, 9)
    assert len(mail.outbox) == 1 and not AlertEvent.objects.filter(notified_at=None, send="fire")


def test_rule_create_refuses_bad_input_and_saves_nothing(injected, staff):
    fan = UserFactory()
    cases = [
        ({"metric": "nope"}, "metric"),
        ({"window_seconds": 30}, "window_seconds"),
        ({"channels": ["pigeon"]}, "channels"),
        ({"severity": "dire"}, "severity"),
        ({"operator": "ne"}, "operator"),
        ({"repeat_seconds": 10}, "repeat_seconds"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationError) as caught:
            make_rule([staff], **fields)
        assert field in caught.value.message_dict, fields
    with pytest.raises(ValidationError, match="Only staff"):
        make_rule([staff, fan])
    assert not AlertRule.objects.exists()


def test_silence_create_refuses_an_end_before_its_start(injected, staff):
    rule = make_rule([staff])
    with pytest.raises(ValidationError) as caught:
        services.silence_create(rule=rule, starts_at=minute(5), ends_at=minute(1))
    assert "ends_at" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.silence_create(starts_at=minute(1), ends_at=minute(5))
    assert "rule" in caught.value.message_dict
    assert not Silence.objects.exists()


def test_the_task_evaluates_and_is_scheduled_every_minute(injected, staff):
    from monitoring.tasks import alerts_evaluate
    from mysetlist.schedules import SCHEDULES

    make_rule([staff], for_seconds=0)
    injected.now = 9
    assert alerts_evaluate.delay().get()["evaluated"] == 1
    (entry,) = [s for s in SCHEDULES if s.task == "monitoring.alerts_evaluate"]
    assert entry.crontab == {"minute": "*"} and entry.expires == 90

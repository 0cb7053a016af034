"""The staff API of alerting and admin's forms: through URLs, with bad input answered clearly
and nothing saved."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from monitoring import services
from monitoring.models import Alert, AlertRule, Silence
from tests.monitoring.conftest import minute
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

RULE = {
    "name": "Errors high", "metric": "test_error_rate", "operator": "gt", "threshold": 5,
    "window_seconds": 60, "for_seconds": 0, "severity": "critical",
}  # fmt: skip


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def url(name, *args):
    return reverse(f"alerting-api:{name}", args=args)


def test_staff_create_list_and_update_a_rule(staff_client, injected, staff):
    created = staff_client.post(url("rule-list"), RULE | {"subscribers": [staff.pk]}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["subscribers"] == [staff.pk] and body["channels"] == ["email", "in_app"]

    listed = staff_client.get(url("rule-list"))
    assert [r["name"] for r in listed.json()] == ["Errors high"]

    changed = staff_client.patch(
        url("rule-detail", body["id"]), {"threshold": 9, "group_key": "api"}, format="json"
    )
    assert changed.status_code == 200
    rule = AlertRule.objects.get()
    assert rule.threshold == 9 and rule.group_key == "api" and rule.name == "Errors high"


@pytest.mark.parametrize(
    "change,field",
    [
        ({"metric": "nope"}, "metric"),
        ({"window_seconds": 30}, "window_seconds"),
        ({"severity": "dire"}, "severity"),
        ({"channels": ["pigeon"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"threshold": "lots"}, "threshold"),
        ({"subscribers": [999999]}, "subscribers"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field_and_nothing_is_saved(
    staff_client, injected, change, field
):
    response = staff_client.post(url("rule-list"), RULE | change, format="json")
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"], response.json()
    assert not AlertRule.objects.exists()


def test_a_non_staff_subscriber_is_refused(staff_client, injected):
    fan = UserFactory()
    response = staff_client.post(url("rule-list"), RULE | {"subscribers": [fan.pk]}, format="json")
    assert response.status_code == 400
    assert "Only staff" in str(response.json()["extra"]["fields"]["subscribers"])
    assert not AlertRule.objects.exists()


def test_a_bad_update_changes_nothing(staff_client, injected, staff):
    rule = services.rule_create(subscribers=[staff], **RULE)
    response = staff_client.patch(
        url("rule-detail", rule.pk), {"window_seconds": 10, "threshold": 1}, format="json"
    )
    assert response.status_code == 400 and "window_seconds" in response.json()["extra"]["fields"]
    rule.refresh_from_db()
    assert rule.window_seconds == 60 and rule.threshold == 5
    assert staff_client.get(url("rule-detail", 424242)).status_code == 404


def test_silences_are_created_and_a_backwards_one_is_refused(staff_client, injected, staff):
    rule = services.rule_create(subscribers=[staff], **RULE)
    backwards = staff_client.post(
        url("silence-list"),
        {"rule": rule.pk, "starts_at": minute(10).isoformat(), "ends_at": minute(0).isoformat()},
        format="json",
    )
    assert backwards.status_code == 400 and "ends_at" in backwards.json()["extra"]["fields"]
    unknown = staff_client.post(
        url("silence-list"),
        {"rule": 999, "starts_at": minute(0).isoformat(), "ends_at": minute(5).isoformat()},
        format="json",
    )
    assert unknown.status_code == 400 and "rule" in unknown.json()["extra"]["fields"]
    assert not Silence.objects.exists()

    made = staff_client.post(
        url("silence-list"),
        {"group_key": "api", "starts_at": minute(0).isoformat(), "ends_at": minute(5).isoformat()},
        format="json",
    )
    assert made.status_code == 201 and made.json()["created_by"] == staff.pk
    assert staff_client.get(url("silence-list")).json()[0]["group_key"] == "api"


def test_alerts_are_listed_and_acknowledged(
    staff_client, injected, staff, django_capture_on_commit_callbacks
):
    services.rule_create(subscribers=[staff], **RULE)
    injected.now = 9
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_evaluate(now=minute(0))
    alert = Alert.objects.get()

    listed = staff_client.get(url("alert-list"), {"state": "firing"})
    assert [a["id"] for a in listed.json()] == [alert.pk]
    assert staff_client.get(url("alert-list"), {"state": "bogus"}).status_code == 400

    acked = staff_client.post(url("alert-acknowledge", alert.pk))
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == staff.pk
    assert staff_client.post(url("alert-acknowledge", alert.pk)).status_code == 200  # twice

    detail = staff_client.get(url("alert-detail", alert.pk)).json()
    assert [e["kind"] for e in detail["events"]] == ["firing", "acknowledged"]


def test_acknowledging_a_pending_alert_is_a_409(staff_client, injected, staff):
    rule = services.rule_create(subscribers=[staff], **RULE | {"for_seconds": 300})
    injected.now = 9
    services.alerts_evaluate(now=minute(0))
    alert = Alert.objects.get(rule=rule)
    response = staff_client.post(url("alert-acknowledge", alert.pk))
    assert response.status_code == 409 and "pending" in response.json()["message"]


def test_the_api_is_for_staff_only(injected):
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get(url("rule-list")).status_code == 403
    assert APIClient().get(url("alert-list")).status_code == 401


def admin_client(staff):
    staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    return client


def test_admin_creates_a_rule_through_the_services(injected, staff):
    client = admin_client(staff)
    form = {
        **RULE, "window_seconds": 60, "repeat_seconds": 3600, "keep_firing_for_seconds": 0,
        "channels": ["email", "push"], "subscribers": [staff.pk], "enabled": "on",
        "send_resolved": "on",
    }  # fmt: skip
    response = client.post(reverse("admin:monitoring_alertrule_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.get()
    assert rule.channels == ["email", "push"] and list(rule.subscribers.all()) == [staff]

    bad = client.post(
        reverse("admin:monitoring_alertrule_add"),
        form | {"name": "Other", "metric": "nope", "window_seconds": 30},
    )
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.errors
    assert "metric" in errors and "window_seconds" in errors
    assert AlertRule.objects.count() == 1


def test_admin_refuses_a_silence_that_ends_before_it_starts(injected, staff):
    client = admin_client(staff)
    rule = services.rule_create(subscribers=[staff], **RULE)
    response = client.post(
        reverse("admin:monitoring_silence_add"),
        {
            "rule": rule.pk, "starts_at_0": "2026-12-06", "starts_at_1": "12:10:00",
            "ends_at_0": "2026-12-06", "ends_at_1": "12:00:00",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "ends_at" in response.context["adminform"].form.errors
    assert not Silence.objects.exists()


def test_admin_acknowledges_with_its_action(injected, staff):
    client = admin_client(staff)
    services.rule_create(subscribers=[staff], **RULE)
    injected.now = 9
    services.alerts_evaluate(now=minute(0))
    alert = Alert.objects.get()
    response = client.post(
        reverse("admin:monitoring_alert_changelist"),
        {"action": "acknowledge", "_selected_action": [alert.pk]},
        follow=True,
    )
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == staff

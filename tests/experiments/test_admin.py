"""Experiments in admin: every change goes through the services, so the same rules hold
(weights summing to 1, a new phase for a running split) and show beside the field."""

import pytest
from django.urls import reverse

from experiments.models import Experiment, Phase
from experiments.stats import sample_size_binomial
from tests.experiments.factories import experiment
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def form(variants, existing=(), **fields):
    """The add/change form's body: the experiment's fields and its inlines' management."""
    data = {
        "key": "cta-copy",
        "name": "CTA copy",
        "surface": "other",
        "coverage": "1",
        "countries": "[]",
        "platforms": "[]",
        "visitors": "all",
        "staff": "all",
        "alpha": "0.05",
        "power": "0.8",
        "sequential": "on",
        "sequential_tuning": "5000",
        "prior_mean": "0",
        "prior_stddev": "0.3",
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": str(len(existing)),
        "variants-MIN_NUM_FORMS": "2",
        "variants-MAX_NUM_FORMS": "1000",
        "phases-TOTAL_FORMS": "0",
        "phases-INITIAL_FORMS": "0",
        "status_changes-TOTAL_FORMS": "0",
        "status_changes-INITIAL_FORMS": "0",
        **fields,
    }
    for i, (key, weight) in enumerate(variants):
        data |= {
            f"variants-{i}-position": str(i),
            f"variants-{i}-key": key,
            f"variants-{i}-name": "",
            f"variants-{i}-weight": str(weight),
            f"variants-{i}-payload": "{}",
        }
        if i < len(existing):
            data[f"variants-{i}-id"] = str(existing[i])
    return data


def test_add_creates_a_draft_through_the_services(admin_client):
    response = admin_client.post(
        reverse("admin:experiments_experiment_add"), form([("control", 0.5), ("b", 0.5)])
    )
    assert response.status_code == 302, response.content[:3000]
    created = Experiment.objects.get()
    assert created.status == "draft"
    assert [v.key for v in created.variants.order_by("position")] == ["control", "b"]
    assert created.status_changes.get().to_status == "draft"


def test_weights_not_summing_to_one_are_refused_in_the_form(admin_client):
    response = admin_client.post(
        reverse("admin:experiments_experiment_add"), form([("control", 0.5), ("b", 0.6)])
    )
    assert response.status_code == 200
    assert "The weights must sum to 1" in response.text
    assert not Experiment.objects.exists()


def test_a_running_split_change_without_a_new_phase_is_refused(admin_client):
    running = experiment(key="cta-copy")
    ids = list(running.variants.order_by("position").values_list("pk", flat=True))
    change = reverse("admin:experiments_experiment_change", args=[running.pk])
    body = form([("control", 0.2), ("b", 0.8)], existing=ids)
    refused = admin_client.post(change, body)
    assert refused.status_code == 200
    assert "Tick" in refused.text and "new phase" in refused.text
    assert Phase.objects.count() == 1

    no_reason = admin_client.post(change, body | {"new_phase": "on"})
    assert "Say why the new phase starts." in no_reason.text

    done = admin_client.post(change, body | {"new_phase": "on", "phase_reason": "ramp b"})
    assert done.status_code == 302
    assert list(Phase.objects.order_by("number").values_list("number", "reason")) == [
        (1, "started"), (2, "ramp b")
    ]  # fmt: skip


def test_actions_move_the_status_and_report_what_they_refuse(admin_client):
    draft = experiment(key="draft", start=False)
    concluded = experiment(key="done")
    concluded.status = "concluded"
    concluded.save()
    changelist = reverse("admin:experiments_experiment_changelist")
    response = admin_client.post(
        changelist,
        {"action": "start", "_selected_action": [draft.pk, concluded.pk]},
        follow=True,
    )
    shown = sorted(str(message) for message in response.context["messages"])
    assert shown == ["done: A concluded experiment cannot be running.", "draft: running."]
    draft.refresh_from_db()
    assert draft.status == "running"

    admin_client.post(changelist, {"action": "kill", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.killed_at is not None


def test_change_page_shows_the_sample_size(admin_client):
    running = experiment(key="cta-copy", baseline_value=0.1, minimum_detectable_effect=0.1)
    page = admin_client.get(reverse("admin:experiments_experiment_change", args=[running.pk]))
    assert page.status_code == 200
    needed = sample_size_binomial(baseline_rate=0.1, relative_mde=0.1)
    assert f"{needed.per_variant:,} users per variant" in page.text

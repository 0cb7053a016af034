"""experiment_analyse and the staff endpoint: the same body, the same figures."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from experiments import services
from experiments.stats import analyse
from tests.experiments.factories import experiment

BODY = {
    "metric": "binomial",
    "variants": [
        {"name": "control", "users": 5000, "conversions": 500},
        {"name": "B", "users": 5000, "conversions": 650},
    ],
}

TOO_MANY = {"name": "B", "users": 10, "conversions": 11}

# Votes per page view: the control's ratio 0.125, B's 0.1375.
RATIO_BODY = {
    "metric": "ratio",
    "variants": [
        {
            "name": "control",
            "users": 1000,
            "numerator_sum": 500,
            "numerator_sum_squares": 890,
            "denominator_sum": 4000,
            "denominator_sum_squares": 20000,
            "numerator_denominator_sum_products": 2600,
        },
        {
            "name": "B",
            "users": 1000,
            "numerator_sum": 550,
            "numerator_sum_squares": 942.5,
            "denominator_sum": 4000,
            "denominator_sum_squares": 20000,
            "numerator_denominator_sum_products": 2800,
        },
    ],
}


def _run(*args):
    out = io.StringIO()
    call_command("experiment_analyse", *args, stdout=out)
    return out.getvalue()


def test_command_prints_the_figures_as_json(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(BODY)))
    printed = json.loads(_run("--json"))
    assert printed == json.loads(json.dumps(analyse(BODY)))
    b = printed["variants"]["B"]
    assert b["relative_uplift"] == pytest.approx(0.3)
    assert 0 < b["p_value"] < 0.05


def test_command_reads_a_file_and_prints_words(tmp_path):
    path = tmp_path / "body.json"
    path.write_text(json.dumps(BODY))
    printed = _run("--input", str(path))
    assert "B: uplift +30.00%" in printed and "chance to beat control" in printed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "variants": [BODY["variants"][0]]}, "variants"),
        (
            {
                **BODY,
                "variants": [BODY["variants"][0], {"name": "B", "users": 10, "conversions": 11}],
            },
            "variants[1].conversions",
        ),
        ({**BODY, "weights": [0.5, 0.3, 0.2]}, "weights"),
    ],
)
def test_command_names_the_bad_field(tmp_path, body, field):
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    with pytest.raises(CommandError, match=rf"{field.replace('[', '.').replace(']', '.')}:"):
        _run("--input", str(path))


def test_command_prints_why_an_arm_has_no_figures(tmp_path):
    small = {"name": "C", "users": 40, "conversions": 4}
    path = tmp_path / "body.json"
    path.write_text(json.dumps({**BODY, "variants": [*BODY["variants"], small]}))
    printed = _run("--input", str(path))
    assert "B: uplift +30.00%" in printed
    assert "C: not enough data (Fewer than 50 users in this variant.)" in printed


def test_command_analyses_a_ratio_body(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(RATIO_BODY)))
    printed = json.loads(_run("--json"))
    assert printed == json.loads(json.dumps(analyse(RATIO_BODY)))
    assert printed["control_mean"] == pytest.approx(0.125)
    b = printed["variants"]["B"]
    assert b["mean"] == pytest.approx(0.1375)
    assert b["relative_uplift"] == pytest.approx(0.1)
    assert None not in (b["p_value"], b["seq_p_value"], b["chance_to_win"], b["p_value_holm"])
    path = tmp_path / "body.json"
    path.write_text(json.dumps(RATIO_BODY))
    assert "B: uplift +10.00%" in _run("--input", str(path))


def test_command_names_the_bad_ratio_field(tmp_path):
    body = json.loads(json.dumps(RATIO_BODY))
    del body["variants"][1]["denominator_sum_squares"]
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    with pytest.raises(CommandError, match=r"variants.1..denominator_sum_squares: .*required"):
        _run("--input", str(path))


def test_command_refuses_what_is_not_json(tmp_path):
    path = tmp_path / "body.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not JSON"):
        _run("--input", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        _run("--input", str(tmp_path / "missing.json"))


@pytest.mark.django_db
def test_endpoint_answers_the_same_figures_to_staff_only(staff_client, user_client):
    answer = staff_client.post(reverse("experiments-api:analyse"), BODY, format="json")
    assert answer.status_code == 200
    assert answer.json() == json.loads(json.dumps(analyse(BODY)))
    assert user_client.post(reverse("experiments-api:analyse"), BODY).status_code == 403
    assert APIClient().post(reverse("experiments-api:analyse"), BODY).status_code == 401


@pytest.mark.django_db
def test_endpoint_analyses_a_ratio_body(staff_client):
    answer = staff_client.post(reverse("experiments-api:analyse"), RATIO_BODY, format="json")
    assert answer.status_code == 200
    assert answer.json() == json.loads(json.dumps(analyse(RATIO_BODY)))
    bad = json.loads(json.dumps(RATIO_BODY))
    bad["variants"][0]["numerator_denominator_sum_products"] = 4000
    answer = staff_client.post(reverse("experiments-api:analyse"), bad, format="json")
    assert answer.status_code == 400
    fields = answer.json()["extra"]["fields"]
    assert list(fields) == ["variants[0].numerator_denominator_sum_products"]


@pytest.mark.django_db
def test_endpoint_names_the_bad_field(staff_client):
    bad = {**BODY, "alpha": 2}
    answer = staff_client.post(reverse("experiments-api:analyse"), bad, format="json")
    assert answer.status_code == 400
    assert "alpha" in answer.json()["extra"]["fields"]


@pytest.mark.django_db
def test_sample_size_text_says_what_is_missing():
    running = experiment()
    assert "Set the minimum detectable effect" in services.sample_size_text(experiment=running)
    running.baseline_value, running.minimum_detectable_effect = 20.0, 0.05
    running.baseline_stddev = 10.0
    assert "users per variant" in services.sample_size_text(experiment=running)
    running.baseline_stddev = None
    assert "below 1" in services.sample_size_text(experiment=running)

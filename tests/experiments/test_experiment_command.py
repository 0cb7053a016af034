"""manage.py experiment: the lifecycle from a shell, with the services' rules and errors."""

import io

import pytest
from django.core.management import CommandError, call_command

from experiments.models import Experiment, Metric, Phase
from tests.experiments.factories import experiment

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("experiment", *args, stdout=out)
    return out.getvalue()


def test_the_lifecycle_from_draft_to_concluded():
    experiment(key="hero-copy", start=False)

    assert "hero-copy\tdraft" in run("list")
    assert "is running" in run("start", "hero-copy", "--note", "go")
    assert "kill switch of hero-copy is on" in run("kill", "hero-copy")
    assert Experiment.objects.get().killed_at is not None
    assert "lifted" in run("kill", "hero-copy", "--lift")
    assert "is stopped" in run("stop", "hero-copy")
    assert "is concluded" in run("conclude", "hero-copy", "--winner", "b")
    concluded = Experiment.objects.get()
    assert (concluded.status, concluded.winner) == ("concluded", "b")
    shown = run("show", "hero-copy")
    assert "variant b: weight 0.5" in shown and "phase 1:" in shown


def test_new_weights_on_a_running_experiment_need_a_new_phase_and_a_reason():
    running = experiment(key="hero-copy")

    with pytest.raises(CommandError, match="start a new phase"):
        run("variants", "hero-copy", "control=0.7", "b=0.3")
    with pytest.raises(CommandError, match="reason: required with new_phase"):
        run("variants", "hero-copy", "control=0.7", "b=0.3", "--new-phase")
    assert Phase.objects.filter(experiment=running).count() == 1  # nothing changed

    run("variants", "hero-copy", "control=0.7", "b=0.3", "--new-phase", "--reason", "more")
    assert Phase.objects.filter(experiment=running).count() == 2
    assert [v.weight for v in running.variants.all()] == [0.7, 0.3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("start", "nope"), "There is no experiment 'nope'"),
        (("variants", "hero-copy", "control=0.7", "b=0.7"), "sum to 1"),
        (("variants", "hero-copy", "control", "b=1"), "'control' is not VARIANT=WEIGHT"),
        (("conclude", "hero-copy", "--winner", "z"), "There is no variant 'z'"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(args, message):
    experiment(key="hero-copy", start=False)

    with pytest.raises(CommandError, match=message):
        run(*args)

    draft = Experiment.objects.get()
    assert draft.status == "draft" and [v.weight for v in draft.variants.all()] == [0.5, 0.5]


def test_a_concluded_experiment_cannot_start_again():
    concluded = experiment(key="hero-copy")
    run("conclude", "hero-copy")

    with pytest.raises(CommandError, match="concluded"):
        run("start", "hero-copy")

    concluded.refresh_from_db()
    assert concluded.status == "concluded"


def test_results_are_computed_with_their_verdict():
    metric = Metric.objects.create(key="voted", name="Voted", kind="conversion", event="vote")
    experiment(key="hero-copy", primary_metric=metric)

    said = run("results", "hero-copy")

    assert "Results computed for 1 metrics." in said
    assert "Not enough data" in said  # nobody was exposed yet


def test_results_of_an_experiment_without_metrics_say_so():
    experiment(key="hero-copy")

    with pytest.raises(CommandError, match="no phase or metric"):
        run("results", "hero-copy")

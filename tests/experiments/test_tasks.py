import pytest

from experiments import tasks
from experiments.models import Result
from mysetlist.celery import app
from mysetlist.schedules import SCHEDULES
from tests.experiments.factories import experiment
from tests.experiments.results_data import metric

pytestmark = pytest.mark.django_db


def test_beat_refreshes_the_results_of_running_experiments_only():
    votes = metric()
    running = experiment(key="running", primary_metric=votes)
    experiment(key="draft", start=False, primary_metric=votes)

    assert tasks.results_refresh_running.delay().get() == ["running"]

    assert list(Result.objects.values_list("experiment__key", "metric__key")) == [
        ("running", "votes")
    ]
    assert running.results.get().body["analysis"]["control_users"] == 0


def test_results_refresh_of_a_deleted_experiment_does_nothing():
    assert tasks.results_refresh.delay("gone").get() == 0


def test_the_results_job_is_scheduled_and_registered():
    job = next(s for s in SCHEDULES if s.task == "experiments.results_refresh_running")
    assert job.crontab == {"minute": "*/15"} and job.expires == 60 * 22
    assert "experiments.results_refresh_running" in app.tasks

"""Assignment reads the experiments through the tiered cache: kept between requests, read
again once a change commits."""

import pytest

from experiments import services
from mysetlist.core import tiered_cache
from tests.experiments.factories import experiment
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def reads(outcome: str) -> int:
    return tiered_cache.cache_stats().get("experiments", {}).get(outcome, 0)


def test_assignment_keeps_the_experiments_until_one_changes(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        running = experiment(weights=(0.0, 1.0))
    fan = UserFactory()
    assert services.get_variant(key=running.key, user=fan).variant == "b"
    assert services.get_variant(key=running.key, user=fan).variant == "b"
    assert (reads("miss"), reads("local_hit")) == (1, 1)

    with django_capture_on_commit_callbacks(execute=True):
        services.experiment_kill(experiment=running)
    assert services.get_variant(key=running.key, user=fan).reason == "killed"
    assert reads("miss") == 2


def test_a_change_is_seen_in_its_own_transaction_before_it_commits():
    running = experiment(weights=(0.0, 1.0))  # not committed: the test's transaction is open
    fan = UserFactory()
    assert services.get_variant(key=running.key, user=fan).variant == "b"
    services.experiment_kill(experiment=running)
    assert services.get_variant(key=running.key, user=fan).reason == "killed"

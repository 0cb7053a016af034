import os
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

SHARED_SETLISTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "setlists"


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL; this run uses {connection.vendor} (set DATABASE_URL)")


@pytest.fixture(autouse=True, scope="session")
def one_openmp_thread():
    """pytest -n 2 already keeps both cores busy: a model fit's OpenMP threads on top would
    only wait on each other."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(autouse=True)
def fresh_tiered_cache():
    """Every test starts with empty caches: ids repeat across tests' databases."""
    from mysetlist.core import tiered_cache

    tiered_cache.clear()
    tiered_cache.local_forget()
    yield


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A channel layer per test: each async test runs in an event loop of its own, and the
    Redis layer's locks belong to the loop that first waited on them."""
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def shared_shows_file() -> Path:
    """The shared historical setlists; CI must have them, a laptop may not."""
    path = SHARED_SETLISTS / "shows.jsonl"
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI")
        pytest.skip(f"{path} is not on this machine")
    return path


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def open_show():
    return ShowFactory(voting_open=True)


@pytest.fixture
def song(open_show):
    return SongFactory(artist=open_show.artist)

import pytest

from experiments import services
from tests.setlists.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_assignment_state():
    # Each test's database starts empty: what this process remembered of exposures in another
    # test must not leak in (ids repeat across tests' databases). The tiered cache, which
    # holds the experiments, is cleared for every test (tests/conftest.py).
    services._seen.items.clear()
    yield
    services._seen.items.clear()


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def staff_client(staff):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff)
    return client

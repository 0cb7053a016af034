import pytest

from experiments import services
from tests.setlists.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_assignment_state():
    # Each test's database starts empty: what this process remembered of experiments and
    # exposures in another test must not leak in (ids repeat across tests' databases).
    services._snapshot.clear()
    services._seen.items.clear()
    yield
    services._snapshot.clear()
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

import pytest

from analytics.selectors import ingest_key_forget
from tests.analytics.factories import ingest_secret  # noqa: F401


@pytest.fixture(autouse=True)
def _forget_ingest_keys():
    # Key ids repeat across tests' databases; answers remembered by this process must not.
    ingest_key_forget()
    yield
    ingest_key_forget()

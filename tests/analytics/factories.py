import pytest

from analytics.services import ingest_key_create


@pytest.fixture
def ingest_secret(db) -> str:
    _, secret = ingest_key_create(name="test consumer")
    return secret

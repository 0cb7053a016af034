import pytest
from django.conf import settings

from monitoring import live


@pytest.fixture(autouse=True)
def fresh_monitoring_store():
    """Each test starts with no live figures recorded (under this test worker's prefix)."""
    live._local.clear()
    client = live._redis()
    if client is not None:
        keys = list(client.scan_iter(f"{settings.MONITORING_KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)

import datetime as dt

import pytest
from django.conf import settings

from monitoring import catalog, live
from tests.setlists.factories import UserFactory

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def minute(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


class Injected:
    """A figure whose value the test sets: `now` for any window, or `by_end` for the window
    ending at a time (the previous window of a percentage change)."""

    def __init__(self):
        self.now: float | None = None
        self.by_end: dict[dt.datetime, float | None] = {}
        self.reads: list[tuple[dt.datetime, dt.datetime]] = []

    def read(self, start: dt.datetime, end: dt.datetime) -> float | None:
        self.reads.append((start, end))
        return self.by_end.get(end, self.now)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def injected():
    """Register a test figure, `test_error_rate`, reading the value the test injects."""
    values = Injected()
    figure = catalog.register(
        catalog.Figure(key="test_error_rate", name="Error rate", unit="%", read=values.read)
    )
    yield values
    catalog._FIGURES.pop(figure.key, None)


@pytest.fixture
def staff():
    return UserFactory(username="oncall", is_staff=True)


@pytest.fixture(autouse=True)
def fresh_monitoring_store():
    """Each test starts with no live figures recorded (under this test worker's prefix)."""
    live._local.clear()
    client = live._redis()
    if client is not None:
        keys = list(client.scan_iter(f"{settings.MONITORING_KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)

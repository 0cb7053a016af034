import pytest
from django_ratelimit import core as ratelimit_core


@pytest.fixture
def clock(monkeypatch, settings):
    """Three attempts a minute, on a clock the test moves (django-ratelimit's windows are
    fixed minutes: a test left on the real clock could cross into a fresh one)."""
    settings.LOGIN_RATE = "3/m"
    now = [float(ratelimit_core.time.time())]

    class Clock:
        @staticmethod
        def time():
            return now[0]

    monkeypatch.setattr(ratelimit_core, "time", Clock)
    return now

import datetime as dt

import pytest

from monitoring.dashboards import ranges
from mysetlist.core.exceptions import ApplicationError

NOW = dt.datetime(2026, 12, 6, 12, 30, 45, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("range_key", "interval"), [("15m", "minute"), ("6h", "minute"), ("24h", "hour"),
                                ("7d", "hour"), ("30d", "day"), ("365d", "day")],
)  # fmt: skip
def test_window_picks_the_automatic_interval(range_key, interval):
    win = ranges.window(range_key, "auto", NOW)

    assert win.interval == interval
    assert win.end == dt.datetime(2026, 12, 6, 12, 30, 59, 999999, tzinfo=dt.UTC)
    assert win.end - win.start == ranges.SPANS[range_key] - dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("range_key", "interval", "field"),
    [("365d", "minute", "interval"), ("30d", "minute", "interval"), ("15m", "hour", "interval"),
     ("2y", "auto", "range"), ("7d", "second", "interval")],
)  # fmt: skip
def test_window_refuses_impossible_ranges(range_key, interval, field):
    with pytest.raises(ApplicationError) as refused:
        ranges.window(range_key, interval, NOW)

    assert field in refused.value.extra["fields"]

"""The open-hour profile, alone: engagement times and a timezone in, hours and confidence out."""

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest

from notifications.planning import open_hours as oh
from notifications.planning.open_hours import open_hours

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def at_local(zone, hour, days_ago, minute=10):
    """An instant `days_ago` days before NOW's date, at `hour`:`minute` local in `zone`."""
    day = (NOW - dt.timedelta(days=days_ago)).astimezone(zone).date()
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(UTC)


def test_open_hours_clicks_at_one_local_hour_make_it_the_best_and_trusted():
    clicks = [at_local(NEW_YORK, 19, days) for days in range(1, 11)]

    profile = open_hours(clicks=clicks, opens=[], zone=NEW_YORK, now=NOW)

    assert profile.best_hour == 19
    assert profile.likely[0] == 19
    assert set(profile.likely) <= {18, 19, 20}
    assert profile.engagements == 10
    assert profile.trusted
    assert 0 < profile.confidence < 1
    assert math.isclose(sum(profile.shares), 1.0)
    assert len(profile.shares) == 24


def test_open_hours_are_local_to_the_zone_given():
    """The same instants are 19:10 in New York and 05:40 or 04:40 in Kolkata (+05:30, no
    daylight saving): the hour follows the zone, and New York's offset change in November
    leaves the local hour where it was."""
    clicks = [at_local(NEW_YORK, 19, days) for days in range(1, 60, 3)]  # across Nov 1

    new_york = open_hours(clicks=clicks, opens=[], zone=NEW_YORK, now=NOW)
    kolkata = open_hours(clicks=clicks, opens=[], zone=KOLKATA, now=NOW)

    assert new_york.best_hour == 19
    assert {c.astimezone(KOLKATA).hour for c in clicks} == {4, 5}
    assert kolkata.best_hour in {4, 5}
    assert set(kolkata.likely) <= {3, 4, 5, 6}


def test_open_hours_with_too_little_evidence_is_not_trusted():
    profile = open_hours(clicks=[at_local(KOLKATA, 8, 1)] * 2, opens=[], zone=KOLKATA, now=NOW)

    assert profile.best_hour == 8
    assert profile.evidence < oh.MIN_EVIDENCE
    assert not profile.trusted


def test_open_hours_with_no_engagement_is_flat_and_not_trusted():
    profile = open_hours(clicks=[], opens=[], zone=UTC, now=NOW)

    assert profile.engagements == 0
    assert profile.confidence == 0
    assert not profile.trusted
    assert len(set(profile.shares)) == 1


def test_open_hours_spread_evenly_over_the_day_is_not_trusted():
    clicks = [at_local(UTC, hour, days) for hour in range(24) for days in (1, 2, 3)]

    profile = open_hours(clicks=clicks, opens=[], zone=UTC, now=NOW)

    assert profile.evidence > 50
    assert profile.confidence < 0.01
    assert not profile.trusted


def test_open_hours_ignore_engagement_past_the_window_and_in_the_future():
    old = [at_local(UTC, 7, oh.WINDOW_DAYS + 2) for _ in range(30)]
    future = [NOW + dt.timedelta(hours=3)] * 30

    profile = open_hours(clicks=old + future, opens=[], zone=UTC, now=NOW)

    assert profile.engagements == 0
    assert not profile.trusted


def test_open_hours_recent_habit_outweighs_an_older_one():
    """Ten clicks at 08:00 two months ago against as many at 21:00 this week: decay makes
    the recent hour the best."""
    clicks = [at_local(UTC, 8, 60 + d) for d in range(10)] + [
        at_local(UTC, 21, 1 + d % 5) for d in range(10)
    ]

    profile = open_hours(clicks=clicks, opens=[], zone=UTC, now=NOW)

    assert profile.best_hour == 21
    assert profile.shares[21] > 2 * profile.shares[8]


def test_open_hours_an_open_counts_half_a_click():
    clicks = [at_local(UTC, 9, d) for d in range(1, 5)]
    opens = [at_local(UTC, 15, d) for d in range(1, 8)]  # 7 opens: 3.5 clicks' worth

    profile = open_hours(clicks=clicks, opens=opens, zone=UTC, now=NOW)

    assert profile.best_hour == 9
    assert 15 in profile.likely


def test_open_hours_smoothing_wraps_around_midnight():
    clicks = [at_local(UTC, 23, d, minute=50) for d in range(1, 9)]

    profile = open_hours(clicks=clicks, opens=[], zone=UTC, now=NOW)

    assert profile.best_hour == 23
    assert profile.shares[0] == pytest.approx(profile.shares[22])
    assert profile.shares[0] > 5 * profile.shares[12]


def test_open_hours_refuses_naive_times():
    with pytest.raises(ValueError):
        open_hours(clicks=[dt.datetime(2026, 12, 1, 9)], opens=[], zone=UTC, now=NOW)
    with pytest.raises(ValueError):
        open_hours(clicks=[], opens=[], zone=UTC, now=dt.datetime(2026, 12, 1))

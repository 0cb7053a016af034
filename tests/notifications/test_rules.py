"""Preference rules: quiet hours across timezones and daylight saving, caps, digests and
unsubscribing, checked on the pure planning functions."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.models import Category, Delivery
from notifications.planning.channels import Recipient, plan
from notifications.planning.timing import (
    in_quiet_hours,
    next_digest,
    next_local_day,
    quiet_hours_end,
)

NY, BERLIN, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Tokyo")
UTC = dt.UTC


def at(zone, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


@pytest.mark.parametrize(
    ("local", "start", "end", "quiet"),
    [
        ((23, 0), (22, 0), (7, 0), True),
        ((6, 59), (22, 0), (7, 0), True),
        ((7, 0), (22, 0), (7, 0), False),  # the end is not quiet
        ((21, 59), (22, 0), (7, 0), False),
        ((13, 0), (12, 0), (14, 0), True),  # a window within one day
        ((14, 0), (12, 0), (14, 0), False),
        ((3, 0), (5, 0), (5, 0), False),  # start == end: none
    ],
)
def test_in_quiet_hours(local, start, end, quiet):
    assert in_quiet_hours(dt.time(*local), dt.time(*start), dt.time(*end)) is quiet


def test_quiet_hours_follow_the_users_own_timezone():
    quiet = (dt.time(22), dt.time(7))
    now = at(
        UTC, 2026, 6, 10, 3, 0
    )  # 23:00 the day before in New York, 05:00 in Berlin, 12:00 in Tokyo

    assert quiet_hours_end(now, NY, *quiet) == at(NY, 2026, 6, 10, 7, 0)
    assert quiet_hours_end(now, BERLIN, *quiet) == at(BERLIN, 2026, 6, 10, 7, 0)
    assert quiet_hours_end(now, TOKYO, *quiet) == now  # not quiet there


def test_a_hold_across_spring_forward_ends_at_the_local_wall_clock_time():
    # New York springs forward at 02:00 on 8 March 2026: the night is an hour shorter.
    now = at(NY, 2026, 3, 7, 23, 30)
    end = quiet_hours_end(now.astimezone(UTC), NY, dt.time(22), dt.time(7))

    assert end.astimezone(NY).replace(tzinfo=None) == dt.datetime(2026, 3, 8, 7, 0)
    assert end - now == dt.timedelta(hours=6, minutes=30)  # 7.5 h on the clock, 6.5 real


def test_a_hold_across_fall_back_ends_at_the_local_wall_clock_time():
    # Berlin falls back at 03:00 on 25 October 2026: the night is an hour longer.
    now = at(BERLIN, 2026, 10, 24, 23, 0)
    end = quiet_hours_end(now.astimezone(UTC), BERLIN, dt.time(22), dt.time(7))

    assert end.astimezone(BERLIN).replace(tzinfo=None) == dt.datetime(2026, 10, 25, 7, 0)
    assert end - now == dt.timedelta(hours=9)


def test_quiet_hours_ending_at_a_time_the_clock_skips_end_just_after_the_jump():
    now = at(NY, 2026, 3, 8, 1, 0)
    end = quiet_hours_end(now.astimezone(UTC), NY, dt.time(1), dt.time(2, 30))

    assert end.astimezone(NY).replace(tzinfo=None) == dt.datetime(2026, 3, 8, 3, 0)


def test_next_local_day_and_digest_times_are_local():
    now = at(UTC, 2026, 11, 23, 23, 30)  # a Monday, 18:30 in New York

    assert next_local_day(now, NY) == at(NY, 2026, 11, 24, 0, 0)
    assert next_digest(now, NY, weekly=False, hour=9) == at(NY, 2026, 11, 24, 9, 0)
    assert next_digest(now, NY, weekly=True, hour=9) == at(NY, 2026, 11, 30, 9, 0)
    assert next_digest(now, NY, weekly=True, hour=20) == at(NY, 2026, 11, 23, 20, 0)


def recipient(**kwargs) -> Recipient:
    base = {"user_id": 1, "timezone": NY, "has_email": True, "has_push": True}
    return Recipient(**(base | kwargs))


def channels(plans) -> dict:
    return {p.channel: (p.status, p.not_before) for p in plans}


NOW = at(UTC, 2026, 6, 10, 3, 0)  # 23:00 on 9 June in New York


def test_every_reachable_channel_by_default_and_none_the_user_cannot_receive():
    assert set(channels(plan(recipient(), Category.SHOW_ANNOUNCED, NOW))) == {
        "in_app", "email", "push"
    }  # fmt: skip
    bare = recipient(has_email=False, has_push=False)
    assert set(channels(plan(bare, Category.SHOW_ANNOUNCED, NOW))) == {"in_app"}
    texting = recipient(sms_number="+15555550100")
    assert "sms" in channels(plan(texting, Category.SHOW_ANNOUNCED, NOW))


def test_a_channel_turned_off_for_a_category_only_and_unsubscribing_from_all_email():
    user = recipient(disabled=frozenset({"show_announced:email"}))
    assert "email" not in channels(plan(user, Category.SHOW_ANNOUNCED, NOW))
    assert "email" in channels(plan(user, Category.VOTING_OPENED, NOW))

    gone = recipient(unsubscribed_all=True)
    assert set(channels(plan(gone, Category.VOTING_CLOSING, NOW))) == {"in_app", "push"}


def test_quiet_hours_hold_the_interrupting_channels_but_not_in_app_nor_urgent_ones():
    user = recipient(quiet_start=dt.time(22), quiet_end=dt.time(7))
    morning = at(NY, 2026, 6, 10, 7, 0)

    held = channels(plan(user, Category.SHOW_ANNOUNCED, NOW))
    assert held["email"] == (Delivery.Status.QUEUED, morning)
    assert held["push"] == (Delivery.Status.QUEUED, morning)
    assert held["in_app"] == (Delivery.Status.QUEUED, NOW)
    urgent = channels(plan(user, Category.VOTING_CLOSING, NOW))
    assert urgent["email"] == (Delivery.Status.QUEUED, NOW)


def test_over_the_daily_cap_waits_for_the_next_local_day_then_its_quiet_hours():
    capped = recipient(daily_cap=3, sent_today=3, quiet_start=dt.time(0), quiet_end=dt.time(8))
    under = recipient(daily_cap=3, sent_today=2)

    assert channels(plan(capped, Category.VOTING_OPENED, NOW))["email"][1] == at(
        NY, 2026, 6, 10, 8, 0
    )
    assert channels(plan(under, Category.VOTING_OPENED, NOW))["email"][1] == NOW
    assert channels(plan(capped, Category.VOTING_CLOSING, NOW))["email"][1] == NOW  # urgent


def test_digest_mode_holds_low_priority_items_for_the_digest_only():
    daily = recipient(digest="daily", digest_hour=9)

    announced = channels(plan(daily, Category.SHOW_ANNOUNCED, NOW))
    assert announced["email"] == (Delivery.Status.HELD, at(NY, 2026, 6, 10, 9, 0))
    assert announced["in_app"] == (Delivery.Status.QUEUED, NOW)
    # Voting opening is time-bound: no digest takes it.
    assert channels(plan(daily, Category.VOTING_OPENED, NOW))["email"][0] == "queued"

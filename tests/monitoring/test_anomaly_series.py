"""The seasonal series anomaly rules read, each from the source that keeps its history:
analytics' rollups, the live store and its hourly copies, notifications' delivery rollups."""

import datetime as dt

import pytest

from analytics.models import EventRollup
from analytics.selectors import event_count_total
from monitoring import live
from monitoring.anomalies import series
from monitoring.anomalies.services import request_hours_record, series_evaluate, spans_for
from monitoring.models import RequestHour
from notifications.models import DeliveryRollup

pytestmark = pytest.mark.django_db

T = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
WEEK = dt.timedelta(weeks=1)
NOISE = [0.97, 1.02, 1.0, 1.05, 0.95, 1.01, 0.99, 1.03]


def event_rows(granularity, bucket, count):
    EventRollup.objects.create(
        granularity=granularity, bucket=bucket, event="page_view", dimension="", value="",
        count=count, persons=1,
    )  # fmt: skip


def test_event_count_total_reads_whole_hours_from_hour_rows_and_edges_from_minutes():
    event_rows("hour", T, 600)
    event_rows("hour", T + HOUR, 900)
    for minute, count in ((-1, 7), (65, 11), (125, 13)):  # before, inside and after the hours
        event_rows("minute", T + dt.timedelta(minutes=minute), count)
    event_rows("minute", T + dt.timedelta(minutes=5), 999)  # within an hour read whole

    start, end = T - dt.timedelta(minutes=30), T + dt.timedelta(hours=2, minutes=10)
    assert event_count_total(start=start, end=end) == 7 + 600 + 900 + 13
    inside = event_count_total(start=T + dt.timedelta(minutes=60), end=T + dt.timedelta(minutes=70))
    assert inside == 11


def test_events_per_minute_judged_against_the_same_hour_of_past_weeks_both_ways():
    for k, noise in enumerate(NOISE, start=1):
        event_rows("hour", T - HOUR - k * WEEK, round(600 * noise))
    event_rows("hour", T - HOUR, 3000)

    judged = series_evaluate(key="events_per_minute", end=T, window=HOUR, sensitivity=3.5)
    assert [(j.subject, j.value) for j in judged] == [("", 50.0)]
    assert judged[0].verdict.anomalous and judged[0].verdict.expected == pytest.approx(10.05)

    EventRollup.objects.filter(bucket=T - HOUR).update(count=30)  # a collapse is unusual too
    collapse = series_evaluate(key="events_per_minute", end=T, window=HOUR, sensitivity=3.5)[0]
    assert collapse.verdict.anomalous and collapse.verdict.score < -3.5

    EventRollup.objects.filter(bucket=T - HOUR).update(count=610)
    usual = series_evaluate(key="events_per_minute", end=T, window=HOUR, sensitivity=3.5)[0]
    assert not usual.verdict.anomalous


def _this_hour():
    return dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)


def test_http_error_rate_reads_the_live_store_now_and_hourly_copies_weeks_back():
    end = _this_hour()
    live.counts_add({"req": 1000, "err": 50}, at=(end - dt.timedelta(minutes=30)).timestamp())
    for k, noise in enumerate(NOISE, start=1):
        RequestHour.objects.create(
            hour=end - HOUR - k * WEEK, requests=1000, errors=round(5 * noise)
        )
    # half of the hour before a week's window counts for a window that straddles it
    RequestHour.objects.create(hour=end - 2 * HOUR - WEEK, requests=1000, errors=100)

    judged = series_evaluate(key="http_error_rate", end=end, window=HOUR, sensitivity=3.5)[0]
    assert judged.value == pytest.approx(5.0)
    assert judged.history[0] == pytest.approx(0.5, abs=0.01)
    assert judged.verdict.anomalous

    half = series.http_error_rate([(end - dt.timedelta(minutes=90) - WEEK, end - HOUR / 2 - WEEK)])
    assert half[""][0] == pytest.approx(100 * (50 + 2.5) / 1000, rel=0.01)


def test_http_error_rate_says_nothing_of_too_few_requests():
    end = _this_hour()
    live.counts_add({"req": 10, "err": 9}, at=(end - dt.timedelta(minutes=30)).timestamp())

    assert series.http_error_rate([(end - HOUR, end)]) == {"": [None]}


def test_request_hours_record_copies_whole_hours_from_the_live_store_idempotently():
    now = _this_hour() + dt.timedelta(minutes=3)
    previous = _this_hour() - HOUR
    live.counts_add({"req": 40, "err": 2}, at=(previous + dt.timedelta(minutes=5)).timestamp())
    live.counts_add({"req": 60}, at=(previous + dt.timedelta(minutes=50)).timestamp())
    live.counts_add({"req": 7}, at=(now - dt.timedelta(minutes=1)).timestamp())  # not whole yet
    RequestHour.objects.create(hour=previous - 11 * WEEK, requests=1, errors=0)  # too old

    assert request_hours_record(now=now) == 1
    assert request_hours_record(now=now) == 1

    row = RequestHour.objects.get()
    assert (row.hour, row.requests, row.errors) == (previous, 100, 2)


def delivery_row(bucket, sent, failed):
    DeliveryRollup.objects.create(
        granularity="hour", bucket=bucket, channel="email", category="show_announced",
        template_version=0, deliveries=sent + failed, sent=sent, failed=failed,
    )  # fmt: skip


def test_notification_failure_rate_judged_against_past_weeks_from_the_rollups():
    for k, noise in enumerate(NOISE, start=1):
        delivery_row(T - HOUR - k * WEEK, 1000, round(10 * noise))
    delivery_row(T - HOUR, 800, 200)

    judged = series_evaluate(key="notification_failure_rate", end=T, window=HOUR, sensitivity=3.5)
    assert judged[0].value == pytest.approx(20.0)
    assert judged[0].verdict.expected == pytest.approx(1.0, abs=0.05)
    assert judged[0].verdict.anomalous


def test_spans_for_cuts_to_the_minute_and_steps_back_whole_weeks():
    spans = spans_for(end=T + dt.timedelta(seconds=42), window=HOUR, weeks=2)
    assert spans == [
        (T - HOUR, T),
        (T - HOUR - WEEK, T - WEEK),
        (T - HOUR - 2 * WEEK, T - 2 * WEEK),
    ]

import datetime as dt
import itertools
from collections import defaultdict

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.metrics import active_users, ingestion_lag, trend
from analytics.models import RollupRun
from analytics.rollups.buckets import bucket_range, bucket_start
from analytics.rollups.passes import rollups_live, rollups_process, rollups_rebuild
from analytics.services import events_ingest
from mysetlist.core.exceptions import ApplicationError
from tests.analytics.generated import breakdown_of, generate, moment_of
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def ingest(events, received_at):
    for start in range(0, len(events), 200):
        events_ingest(body={"batch": events[start : start + 200]}, received_at=received_at)


@pytest.fixture
def three_hours():
    now = timezone.now()
    events = generate(now, n=500, seed=11)
    ingest(events, now)
    rollups_process(granularity="hour")
    return now, events


def reference_trend(events, name, start, end, interval, measure, breakdown=None):
    cells = defaultdict(lambda: defaultdict(set if measure == "persons" else int))
    for e in events:
        value = breakdown_of(e, breakdown) if breakdown else None
        if e["event"] != name or breakdown and value is None:
            continue
        value = str(value) if breakdown else None
        bucket = bucket_start(moment_of(e), interval)
        if measure == "persons":
            cells[value][bucket].add(e["distinct_id"])
        else:
            cells[value][bucket] += 1
    buckets = bucket_range(start, end, interval)
    return {
        value: [(b, len(points[b]) if measure == "persons" else points.get(b, 0)) for b in buckets]
        for value, points in cells.items()
    }


@pytest.mark.parametrize("measure", ["count", "persons"])
@pytest.mark.parametrize(
    "breakdown",
    [None, "show_id", "device", "properties.show_id", "context.device_type", "context.page.path"],
)
def test_trend_equals_a_reference_computation(three_hours, measure, breakdown):
    now, events = three_hours
    start = now - dt.timedelta(hours=4)

    series = trend(event="vote_cast", interval="hour", start=start, end=now, measure=measure,
                   breakdown=breakdown, limit=50)  # fmt: skip

    expected = reference_trend(events, "vote_cast", start, now, "hour", measure, breakdown)
    assert {s.breakdown: s.points for s in series} == expected


@pytest.mark.parametrize("breakdown", ["show_id", "device"])
def test_trend_keeps_the_largest_series_ties_by_value(three_hours, breakdown):
    now, events = three_hours
    start = now - dt.timedelta(hours=4)

    series = trend(event="vote_cast", interval="hour", start=start, end=now,
                   breakdown=breakdown, limit=1)  # fmt: skip

    expected = reference_trend(events, "vote_cast", start, now, "hour", "count", breakdown)
    largest = sorted(expected, key=lambda v: (-sum(n for _, n in expected[v]), v))[:1]
    assert [s.breakdown for s in series] == largest
    assert [s.points for s in series] == [expected[v] for v in largest]
    assert len(expected) > 1


@pytest.mark.parametrize("interval", ["hour", "week"])
def test_trend_by_a_context_key_splits_by_its_value(three_hours, interval):
    now, events = three_hours
    start = now - dt.timedelta(hours=4)

    series = trend(event="$pageview", interval=interval, start=start, end=now,
                   breakdown="context.device_type", limit=50)  # fmt: skip

    totals = defaultdict(int)
    for e in events:
        if e["event"] == "$pageview" and e["context"]:
            totals[e["context"]["device_type"]] += 1
    # One series per device (not one null series of every event); those without are left out.
    assert {s.breakdown: s.total for s in series} == totals
    assert set(totals) == {"mobile", "desktop", "tablet"}


@pytest.mark.parametrize("breakdown", ["device.type", "person.x", "context.", "context..a"])
def test_trend_refuses_a_breakdown_it_does_not_know(breakdown):
    now = timezone.now()
    with pytest.raises(ApplicationError, match="context.device_type") as refused:
        trend(event="e", interval="day", start=now, end=now, breakdown=breakdown)

    assert "breakdown" in refused.value.extra["fields"]


@pytest.fixture
def ten_weeks():
    """Events over ten weeks and a day, rolled up by day (they are past the lateness)."""
    now = timezone.now()
    events = generate(now, n=700, seed=21, span=dt.timedelta(days=71))
    ingest(events, now)
    rollups_rebuild(start=now - dt.timedelta(days=72), end=now, granularities=("day",))
    rollups_live()  # the last week's batches, which a rebuild leaves to the live pass
    return now, events


def reference_periods(events, name, period, measure, breakdown=None):
    """Per (value, period start): events, or distinct ids, counted straight from the events."""
    cells = defaultdict(lambda: defaultdict(set))
    for e in events:
        day = moment_of(e).astimezone(dt.UTC).date()
        first = day - dt.timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)
        value = str(e["properties"].get(breakdown)) if breakdown else None
        if e["event"] == name and (not breakdown or breakdown in e["properties"]):
            cells[value][first].add(e["distinct_id"] if measure == "persons" else e["message_id"])
    return {
        value: {first: len(ids) for first, ids in by_period.items()}
        for value, by_period in cells.items()
    }


def test_trend_by_week_and_month_equals_a_reference_computation(ten_weeks):
    now, events = ten_weeks
    start = now - dt.timedelta(days=71)
    mondays = [day - dt.timedelta(days=day.weekday()) for day in (start.date(), now.date())]
    months = (now.year - start.year) * 12 + now.month - start.month + 1

    for interval, measure in itertools.product(["week", "month"], ["count", "persons"]):
        [series] = trend(event="vote_cast", interval=interval, start=start, end=now,
                         measure=measure)  # fmt: skip

        expected = reference_periods(events, "vote_cast", interval, measure)[None]
        assert {bucket.date(): n for bucket, n in series.points if n} == expected
        # Every bucket a Monday or a first of the month, at midnight UTC, and none missing.
        firsts = [bucket for bucket, _ in series.points]
        assert all(b.time() == dt.time() and b.utcoffset() == dt.timedelta() for b in firsts)
        if interval == "week":
            assert [b.date() for b in firsts] == [
                mondays[0] + dt.timedelta(weeks=k)
                for k in range((mondays[1] - mondays[0]).days // 7 + 1)
            ]
        else:
            assert {b.day for b in firsts} == {1} and len(firsts) == months


def test_trend_by_week_with_a_breakdown_equals_a_reference_computation(ten_weeks):
    now, events = ten_weeks
    start = now - dt.timedelta(days=71)

    series = trend(event="$pageview", interval="week", start=start, end=now,
                   breakdown="show_id", limit=50)  # fmt: skip

    expected = reference_periods(events, "$pageview", "week", "count", "show_id")
    assert {s.breakdown: {b.date(): n for b, n in s.points if n} for s in series} == expected
    # Persons by week with a breakdown are no sum of days: raw events, a month at most.
    with pytest.raises(ApplicationError, match="31 days"):
        trend(event="$pageview", interval="week", start=start, end=now, measure="persons",
              breakdown="show_id")  # fmt: skip
    recent = now - dt.timedelta(days=20)
    persons = trend(event="$pageview", interval="week", start=recent, end=now,
                    measure="persons", breakdown="show_id", limit=50)  # fmt: skip
    in_range = [e for e in events if moment_of(e) >= recent - dt.timedelta(days=7)]
    by_week = reference_periods(in_range, "$pageview", "week", "persons", "show_id")
    first_week = persons[0].points[0][0].date()
    assert {s.breakdown: {b.date(): n for b, n in s.points if n} for s in persons} == {
        value: {week: n for week, n in weeks.items() if week >= first_week}
        for value, weeks in by_week.items()
    }


def test_trend_of_nothing_is_zeros(three_hours):
    now, _ = three_hours

    series = trend(event="never", interval="hour", start=now - dt.timedelta(hours=2), end=now)

    assert len(series) == 1 and {value for _, value in series[0].points} == {0}


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"interval": "minute", "start": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "more than 1000"),
        ({"interval": "day", "start": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}, "before"),
        ({"interval": "day", "start": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "breakdown": "x"},
         "31 days"),
    ],
)  # fmt: skip
def test_trend_refuses_what_it_cannot_answer(kwargs, message):
    with pytest.raises(ApplicationError, match=message):
        trend(event="e", end=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), **kwargs)


def test_active_users_equal_a_reference_computation():
    now = timezone.now()
    events = generate(now, n=600, seed=3, span=dt.timedelta(days=40))
    ingest(events, now)
    rollups_rebuild(start=now - dt.timedelta(days=41), end=now)  # most are past the lateness
    first, last = (now - dt.timedelta(days=10)).date(), now.date()

    days = active_users(first_day=first, last_day=last)

    by_day = defaultdict(set)
    for e in events:
        by_day[moment_of(e).astimezone(dt.UTC).date()].add(e["distinct_id"])

    def window(day, n):
        return len(set().union(*(by_day[day - dt.timedelta(days=k)] for k in range(n))))

    assert [(d.day, d.dau, d.wau, d.mau) for d in days] == [
        (first + dt.timedelta(days=k), len(by_day[first + dt.timedelta(days=k)]),
         window(first + dt.timedelta(days=k), 7), window(first + dt.timedelta(days=k), 30))
        for k in range((last - first).days + 1)
    ]  # fmt: skip
    assert all(d.stickiness == round(d.dau / d.mau, 4) for d in days if d.mau)


def test_active_users_stored_windows_follow_a_late_day_and_count_days_without_them():
    from analytics.models import PlatformMetric
    from analytics.rollups.people import active_windows

    now = timezone.now()
    today = now.date()
    days = [today - dt.timedelta(days=k) for k in (20, 12, 5, 1)]

    def at(day, person):
        moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        return {"event": "$pageview", "distinct_id": person, "timestamp": moment.isoformat()}

    ingest([at(day, f"p{k}") for k, day in enumerate(days)] + [at(days[0], "p1")], now)
    rollups_rebuild(start=now - dt.timedelta(days=21), end=now)
    # A late event, inside the lateness the rollups take: a new person, 6 days ago.
    late = today - dt.timedelta(days=6)
    ingest([at(late, "late")], now)
    rollups_process(granularity="day")

    first = today - dt.timedelta(days=26)
    found = active_users(first_day=first, last_day=today)

    seen = {"late": {late}, "p0": {days[0]}, "p1": {days[0], days[1]}, "p2": {days[2]},
            "p3": {days[3]}}  # fmt: skip

    def active(day, n):
        return sum(1 for ds in seen.values() if any(0 <= (day - d).days < n for d in ds))

    every_day = [first + dt.timedelta(days=k) for k in range(27)]
    assert [(d.day, d.dau, d.wau, d.mau) for d in found] == [
        (day, active(day, 1), active(day, 7), active(day, 30)) for day in every_day
    ]
    # The late day moved the stored windows of the days after it, up to today.
    stored = dict(
        PlatformMetric.objects.filter(day=today - dt.timedelta(days=1), name="mau").values_list(
            "name", "value"
        )
    )
    assert stored == {"mau": 5}
    counted = active_windows(first, today)
    assert [counted[d.day] for d in found] == [(d.dau, d.wau, d.mau) for d in found]


def test_ingestion_lag_percentiles():
    now = timezone.now()
    RollupRun.objects.bulk_create(
        [RollupRun(kind="live", granularity="minute", finished_at=now, buckets=1, max_lag_ms=ms)
         for ms in range(1, 101)]
        + [RollupRun(kind="live", granularity="minute", finished_at=now - dt.timedelta(days=2),
                     buckets=1, max_lag_ms=99999)]
        + [RollupRun(kind="exact", granularity=g, finished_at=now, buckets=1, max_lag_ms=ms)
           for g, ms in (("minute", 7000), ("minute", 9000), ("hour", 60000))]
    )  # fmt: skip

    lag = ingestion_lag(hours=24)
    exact = ingestion_lag(hours=24, kind="exact")

    assert (lag.runs, lag.p50_ms, lag.max_ms) == (100, 50.5, 100)
    assert 99 <= lag.p99_ms <= 100
    assert (exact.runs, exact.p50_ms, exact.max_ms) == (2, 8000, 9000)


# The API


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def test_trends_api(staff_client, three_hours):
    now, _ = three_hours  # _: the generated events
    response = staff_client.get(
        reverse("analytics-api:trends"),
        {
            "event": "vote_cast",
            "interval": "hour",
            "date_from": (now - dt.timedelta(hours=3)).isoformat(),
            "date_to": now.isoformat(),
            "breakdown": "show_id",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body[0]) == {"breakdown", "total", "points"}
    # Every show's votes of those three hours, each counted once, whatever the series.
    since = bucket_start(now - dt.timedelta(hours=3), "hour")
    votes = [
        e for e in _
        if e["event"] == "vote_cast" and "show_id" in e["properties"]
        and dt.datetime.fromisoformat(e["timestamp"]) >= since
    ]  # fmt: skip
    assert sum(series["total"] for series in body) == len(votes)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"interval": "day", "date_from": "2026-01-01", "date_to": "2026-01-02"}, "event"),
        ({"event": "e", "interval": "fortnight", "date_from": "2026-01-01",
          "date_to": "2026-01-02"}, "interval"),
        ({"event": "e", "date_from": "2026-01-01", "date_to": "2026-01-02",
          "breakdown": "device.type"}, "breakdown"),
        ({"event": "e", "date_from": "yesterday", "date_to": "2026-01-02"}, "date_from"),
        ({"event": "e", "date_from": "2026-02-01", "date_to": "2026-01-02"}, "date_to"),
        ({"event": "e", "date_from": "2026-01-01", "date_to": "2026-01-02",
          "breakdown": "a b"}, "breakdown"),
    ],
)  # fmt: skip
def test_trends_api_bad_parameters_are_400(staff_client, params, field):
    response = staff_client.get(reverse("analytics-api:trends"), params)

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


@pytest.mark.parametrize(
    "name",
    ["trends", "active-users", "ingestion-lag", "funnels", "retention", "sessions", "paths",
     "web-vitals", "trending"],
)  # fmt: skip
def test_metrics_are_for_staff_only(client, name):
    anonymous = client.get(reverse(f"analytics-api:{name}"))
    client.force_login(UserFactory())
    fan = client.get(reverse(f"analytics-api:{name}"))

    assert anonymous.status_code in (401, 403) and fan.status_code == 403


def test_active_users_and_lag_apis(staff_client):
    days = staff_client.get(
        reverse("analytics-api:active-users"), {"date_from": "2026-01-01", "date_to": "2026-01-03"}
    )
    lag = staff_client.get(reverse("analytics-api:ingestion-lag"))
    bad = staff_client.get(
        reverse("analytics-api:active-users"), {"date_from": "2026-01-05", "date_to": "2026-01-01"}
    )

    assert [d["day"] for d in days.json()] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    none = {"runs": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0}
    assert lag.json() == {**none, "exact": none}
    assert bad.status_code == 400


def test_voting_patterns_are_for_staff_only(client):
    from tests.setlists.factories import ShowFactory

    url = reverse("analytics-api:voting-patterns", args=[ShowFactory().pk])
    anonymous = client.get(url)
    client.force_login(UserFactory())

    assert anonymous.status_code in (401, 403) and client.get(url).status_code == 403

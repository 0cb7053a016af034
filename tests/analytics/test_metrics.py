import datetime as dt
from collections import defaultdict

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.buckets import bucket_range, bucket_start
from analytics.metrics import active_users, ingestion_lag, trend
from analytics.models import RollupRun
from analytics.rollups import rollups_process, rollups_rebuild
from analytics.services import events_ingest
from mysetlist.core.exceptions import ApplicationError
from tests.analytics.generated import generate, moment_of
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
        if e["event"] != name or breakdown and breakdown not in e["properties"]:
            continue
        value = str(e["properties"][breakdown]) if breakdown else None
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
@pytest.mark.parametrize("breakdown", [None, "show_id", "device"])
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
        ({"event": "e", "interval": "week", "date_from": "2026-01-01",
          "date_to": "2026-01-02"}, "interval"),
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

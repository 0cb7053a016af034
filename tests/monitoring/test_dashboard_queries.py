import datetime as dt

import pytest
from django.utils import timezone

from analytics.rollups.passes import rollups_process
from analytics.services import events_ingest
from monitoring.dashboards import queries, ranges
from mysetlist.core.exceptions import ApplicationError
from notifications.metrics.rollups import rollup_range
from notifications.models import Delivery, Notification
from tests.analytics.generated import generate, moment_of
from tests.setlists.factories import ArtistFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded():
    """Three hours of made-up events, rolled up by minute, hour and day."""
    now = timezone.now()
    events = generate(now, n=400, seed=3)
    for start in range(0, len(events), 200):
        events_ingest(body={"batch": events[start : start + 200]}, received_at=now)
    for granularity in ("minute", "hour", "day"):
        rollups_process(granularity=granularity)
    return now, events


def test_events_answers_the_count_and_the_series_of_the_window(recorded):
    now, events = recorded
    win = ranges.window("24h", "auto", now)

    found = queries.answer("events", {"event": "vote_cast"}, win)

    expected = sum(
        1 for e in events if e["event"] == "vote_cast" and win.start <= moment_of(e) <= win.end
    )
    assert expected > 0 and found.value == expected
    assert sum(found.series[0].y) == expected and len(found.series[0].x) in (24, 25)


def test_events_persons_counts_distinct_ids_per_bucket(recorded):
    now, events = recorded
    win = ranges.window("6h", "hour", now)

    found = queries.answer("events", {"event": "vote_cast", "measure": "persons"}, win)

    by_hour: dict = {}
    for e in events:
        if e["event"] == "vote_cast":
            by_hour.setdefault(moment_of(e).replace(minute=0, second=0, microsecond=0), set()).add(
                e["distinct_id"]
            )
    assert dict(zip(found.series[0].x, found.series[0].y, strict=True)) == {
        hour: len(by_hour.get(hour, ())) for hour in found.series[0].x
    }


def test_top_names_artists_and_counts_their_votes(recorded):
    now, events = recorded
    ArtistFactory(pk=1, name="First Band")
    win = ranges.window("24h", "auto", now)

    found = queries.answer("top", {"kind": "artist"}, win)

    votes = {}
    for e in events:
        if e["event"] == "vote_cast" and "artist_id" in e["properties"]:
            name = "First Band" if e["properties"]["artist_id"] == 1 else "Artist 2"
            votes[name] = votes.get(name, 0) + 1
    assert {row[0]: row[1] for row in found.rows} == votes


def test_sessions_and_paths_read_the_window_s_utc_days_from_the_day_rollups(recorded):
    from analytics.metrics.engagement import paths_by_day, sessions_by_day

    now, events = recorded
    for minutes, path in ((50, "/a/"), (45, "/b/")):
        moment = now - dt.timedelta(minutes=minutes)
        events_ingest(body={"event": "$pageview", "distinct_id": "walker",
                            "timestamp": moment.isoformat(), "properties": {"path": path}},
                      received_at=now)  # fmt: skip
    rollups_process(granularity="day")
    days = {moment_of(e).date() for e in events}
    win = ranges.window("7d", "auto", now)

    cards = {
        measure: queries.answer("sessions", {"measure": measure}, win)
        for measure in queries.SESSION_MEASURES
    }
    moves = queries.answer("paths", {"limit": 5}, win)

    first = now.date() - dt.timedelta(days=6)
    summary = sessions_by_day(first_day=first, last_day=now.date())
    assert summary.sessions > 0 and min(days) >= first
    assert {m: card.value for m, card in cards.items()} == {
        m: getattr(summary, m) for m in queries.SESSION_MEASURES
    }
    assert cards["bounce_rate"].unit == "%" and "UTC days" in cards["sessions"].note
    assert ("/a/", "/b/", 1) in moves.rows
    assert moves.rows == tuple(paths_by_day(first_day=first, last_day=now.date(), limit=5))


def test_funnel_first_time_mode_reads_the_person_tables(recorded):
    from analytics.metrics import funnel_first_time

    now, _ = recorded
    win = ranges.window("30d", "auto", now)
    steps = ["$pageview", "vote_cast"]

    found = queries.answer(
        "funnel", {"steps": steps, "mode": "first_time", "window_hours": 168}, win
    )

    expected = funnel_first_time(
        steps=steps, window=dt.timedelta(hours=168), start=win.start, end=win.end
    )
    assert expected[0].persons > 0
    assert found.series[0].y == tuple(step.persons for step in expected)
    assert [row[1] for row in found.rows] == [step.persons for step in expected]


def test_figure_reads_the_catalog_scaling_percentages_to_shares(injected):
    injected.now = 2.5  # per cent
    win = ranges.window("1h", "auto", timezone.now())

    found = queries.answer("figure", {"metric": "test_error_rate"}, win)

    assert found.unit == "%" and found.value == pytest.approx(0.025)
    assert found.series[0].y == pytest.approx([0.025] * 60)


def test_deliveries_agree_with_the_rollups():
    fan, now = UserFactory(), timezone.now().replace(second=0, microsecond=0)
    for n, (channel, status) in enumerate([("email", "sent"), ("email", "failed"),
                                           ("push", "sent")]):  # fmt: skip
        at = now - dt.timedelta(minutes=30 - n)
        note = Notification.objects.create(user=fan, category="digest", key=f"d{n}", created_at=at)
        sent_at = at if status == "sent" else None
        Delivery.objects.create(notification=note, channel=channel, provider="p", status=status,
                                created_at=at, sent_at=sent_at)  # fmt: skip
    rollup_range(start=now - dt.timedelta(hours=1), end=now + dt.timedelta(minutes=1))
    win = ranges.window("1h", "auto", now)

    found = queries.answer("deliveries", {"measure": "sent", "by": "channel"}, win)

    assert found.value == 2
    assert {row[0]: (row[1], row[5]) for row in found.rows} == {"email": (1, 1), "push": (1, 0)}
    assert {s.name: sum(y or 0 for y in s.y) for s in found.series} == {"email": 1, "push": 1}
    rate = queries.answer("deliveries", {"measure": "failure_rate"}, win)
    assert rate.unit == "%" and rate.value == pytest.approx(1 / 3, abs=1e-4)


@pytest.mark.parametrize(
    ("source", "params", "kind", "range_key", "interval", "field"),
    [
        ("nothing", {}, "line", "24h", "auto", "source"),
        ("events", {"event": "vote_cast"}, "heatmap", "24h", "auto", "kind"),
        ("events", {"event": "vote_cast"}, "radar", "24h", "auto", "kind"),
        ("events", {}, "line", "24h", "auto", "params.event"),
        ("events", {"event": "never_sent"}, "line", "24h", "auto", "params.event"),
        ("events", {"event": "vote_cast", "colour": "red"}, "line", "24h", "auto", "params.colour"),
        ("events", {"event": "vote_cast", "limit": 0}, "line", "24h", "auto", "params.limit"),
        (
            "events",
            {"event": "vote_cast", "measure": "sum"},
            "line",
            "24h",
            "auto",
            "params.measure",
        ),
        ("events", {"event": "vote_cast"}, "line", "365d", "minute", "interval"),
        ("events", {"event": "vote_cast"}, "line", "15m", "day", "interval"),
        ("events", {"event": "vote_cast"}, "line", "forever", "auto", "range"),
        ("figure", {"metric": "no_such_figure"}, "metric", "1h", "auto", "metric"),
        ("figure", {"metric": "votes_per_minute"}, "line", "7d", "minute", "interval"),
        ("funnel", {"steps": ["vote_cast"]}, "bar", "7d", "auto", "params.steps"),
        ("funnel", {"steps": ["vote_cast", "nope"]}, "bar", "7d", "auto", "params.steps"),
        (
            "funnel",
            {"steps": ["vote_cast", "vote_cast"], "mode": "first_time"},
            "bar",
            "7d",
            "auto",
            "params.steps",
        ),
        (
            "funnel",
            {"steps": ["$pageview", "vote_cast"], "window_hours": 2161},
            "bar",
            "7d",
            "auto",
            "params.window_hours",
        ),
        (
            "funnel",
            {"steps": ["$pageview", "vote_cast"], "mode": "ever"},
            "bar",
            "7d",
            "auto",
            "params.mode",
        ),
        ("sessions", {}, "metric", "365d", "auto", "range"),
        ("paths", {}, "line", "7d", "auto", "kind"),
    ],
)
def test_query_check_refuses_what_a_widget_cannot_show(recorded, source, params, kind, range_key,
                                                       interval, field):  # fmt: skip
    with pytest.raises(ApplicationError) as refused:
        queries.query_check(
            source_key=source, params=params, kind=kind, range_key=range_key, interval=interval
        )

    assert field in refused.value.extra["fields"]
    assert refused.value.message


def test_query_check_fills_in_defaults(recorded):
    clean = queries.query_check(
        source_key="events", params={"event": "vote_cast"}, kind="line", range_key="7d",
        interval="auto",
    )  # fmt: skip

    assert clean == {"event": "vote_cast", "measure": "count", "breakdown": None, "limit": 5}


def test_params_must_be_an_object():
    with pytest.raises(ApplicationError, match="object"):
        queries.query_check(source_key="alerts", params=[1], kind="table", range_key="1h",
                            interval="auto")  # fmt: skip


@pytest.mark.parametrize("source", [s.key for s in queries.sources()])
def test_every_query_answers_on_an_empty_platform(source):
    found = queries.source_get(source)
    params = {name: spec.default for name, spec in found.params.items()}
    params |= {"metric": "votes_per_minute", "kind": "artist", "event": "vote_cast",
               "steps": ["$pageview", "vote_cast"]}  # fmt: skip
    params = {name: value for name, value in params.items() if name in found.params}
    win = ranges.window("24h", "auto", timezone.now())

    try:
        answer = queries.answer(source, params, win)
    except ApplicationError as refused:  # only the events nobody sent yet
        assert "has been recorded" in refused.message
        return
    assert answer.value is not None or answer.series or answer.columns or answer.grid


def test_retention_leaves_periods_yet_to_come_empty(recorded):
    now, _ = recorded
    win = ranges.window("30d", "auto", now)

    found = queries.answer("retention", {"period": "week", "periods": 8}, win)

    assert found.grid.z
    for row, (cohort, size, *returning) in zip(found.grid.z, found.rows, strict=True):
        start = dt.date.fromisoformat(cohort)
        for k, share in enumerate(row):
            if start + dt.timedelta(weeks=k) > now.date():
                assert share is None
            else:
                assert share == round(returning[k] / size, 4)
        assert row[0] == 1.0  # every member was active in the cohort's own week


def test_vote_flags_lists_those_awaiting_review():
    from django.utils import timezone as tz

    from monitoring.models import VoteFlag
    from tests.setlists.factories import ShowFactory

    show, now = ShowFactory(), tz.now()
    for status in ("open", "open", "dismissed"):
        key = f"user:{status}{VoteFlag.objects.count()}"
        VoteFlag.objects.create(
            show=show, kind="account", subject_key=key, status=status, vote_ids=[1, 2, 3],
            first_seen_at=now, last_seen_at=now,
        )  # fmt: skip

    found = queries.answer("vote_flags", {}, ranges.window("24h", "auto", now))

    assert found.value == 2 and len(found.rows) == 2
    assert found.rows[0][0] == f"{show.artist.name}, {show.date:%Y-%m-%d}" and found.rows[0][3] == 3

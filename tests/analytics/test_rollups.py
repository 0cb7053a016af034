import datetime as dt
from collections import defaultdict

import pytest
from django.utils import timezone

from analytics.models import DistinctIdLink, EventRollup, RollupDirty, RollupRun
from analytics.rollups.buckets import bucket_start
from analytics.rollups.cells import DIMENSIONS
from analytics.rollups.passes import rollups_process, rollups_rebuild
from analytics.services import events_ingest, track
from tests.analytics.generated import generate
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def ingest_all(events, now):
    for start in range(0, len(events), 100):
        events_ingest(body={"batch": events[start : start + 100]}, received_at=now)


def reference(events, granularity, person_of) -> dict:
    """The straightforward computation: a pass over the raw events."""
    cells = defaultdict(lambda: [0, set()])
    for e in events:
        bucket = bucket_start(dt.datetime.fromisoformat(e["timestamp"]), granularity)
        keys = [("", "")] + [
            (d, str(e["properties"][d])) for d in DIMENSIONS if d in e["properties"]
        ]
        for dimension, value in keys:
            cell = cells[(bucket, e["event"], dimension, value)]
            cell[0] += 1
            cell[1].add(person_of(e["distinct_id"]))
    return {key: (count, len(people)) for key, (count, people) in cells.items()}


def stored(granularity) -> dict:
    return {
        (r.bucket, r.event, r.dimension, r.value): (r.count, r.persons)
        for r in EventRollup.objects.filter(granularity=granularity)
    }


@pytest.mark.parametrize("granularity", ["minute", "hour", "day"])
def test_rollups_equal_a_reference_computation(granularity):
    now = timezone.now()
    events = generate(now)
    fan = UserFactory()
    # Two anonymous ids turned out to be one fan: they count as one person.
    DistinctIdLink.objects.create(distinct_id="anon-1", user=fan)
    DistinctIdLink.objects.create(distinct_id="anon-2", user=fan)
    ingest_all(events, now)

    result = rollups_process(granularity=granularity)

    links = {"anon-1": f"u:{fan.pk}", "anon-2": f"u:{fan.pk}"}
    expected = reference(events, granularity, lambda did: links.get(did, f"a:{did}"))
    assert stored(granularity) == expected
    assert result.buckets == len({key[0] for key in expected})
    assert not RollupDirty.objects.filter(granularity=granularity).exists()


def test_rerunning_a_window_gives_the_same_numbers():
    now = timezone.now()
    ingest_all(generate(now), now)
    rollups_process(granularity="hour")
    first = stored("hour")

    rollups_rebuild(start=now - dt.timedelta(hours=4), end=now)
    rollups_rebuild(start=now - dt.timedelta(hours=4), end=now)

    assert stored("hour") == first


def test_late_events_are_folded_into_their_old_bucket():
    now = timezone.now()
    two_hours_ago = now - dt.timedelta(hours=2)
    early = {"event": "vote_cast", "distinct_id": "a", "message_id": "early",
             "timestamp": two_hours_ago.isoformat()}  # fmt: skip
    ingest_all([early], now - dt.timedelta(minutes=30))
    rollups_process(granularity="hour")
    late = {"event": "vote_cast", "distinct_id": "b", "message_id": "late",
            "timestamp": (two_hours_ago + dt.timedelta(seconds=1)).isoformat()}  # fmt: skip

    events_ingest(body=late, received_at=now)
    rollups_process(granularity="hour")

    cell = EventRollup.objects.get(granularity="hour", event="vote_cast", dimension="")
    assert (cell.bucket, cell.count, cell.persons) == (bucket_start(two_hours_ago, "hour"), 2, 2)


def test_events_later_than_the_lateness_wait_for_a_rebuild(settings):
    settings.ANALYTICS_ROLLUP_LATENESS_HOURS = 24
    now = timezone.now()
    old = now - dt.timedelta(days=3)
    events_ingest(
        body={
            "event": "vote_cast",
            "distinct_id": "a",
            "message_id": "old",
            "timestamp": old.isoformat(),
        },
        received_at=now,
    )

    rollups_process(granularity="day")
    assert not EventRollup.objects.exists()

    rollups_rebuild(start=old, end=old)
    assert EventRollup.objects.get(granularity="day", dimension="").count == 1


def test_a_run_records_its_lag():
    now = timezone.now()
    events_ingest(
        body={"event": "e", "distinct_id": "a"}, received_at=now - dt.timedelta(seconds=3)
    )

    result = rollups_process(granularity="minute")

    live, exact = RollupRun.objects.get(kind="live"), RollupRun.objects.get(kind="exact")
    assert live.max_lag_ms >= 3000 and live.buckets == 1  # one batch
    assert exact.max_lag_ms == result.max_lag_ms >= 3000 and exact.buckets == 1  # one minute


def test_server_side_events_count_their_user_as_the_person():
    user = UserFactory()
    track(event="vote_cast", user=user, properties={"show_id": 3})
    track(event="vote_cast", user=user, distinct_id="browser-x", properties={"show_id": 3})

    rollups_process(granularity="day")

    cell = EventRollup.objects.get(granularity="day", dimension="show_id", value="3")
    assert (cell.count, cell.persons) == (2, 1)


def test_single_events_mark_their_buckets_as_a_batch_does():
    now = timezone.now()
    # An offset east of UTC: the database truncates in UTC, as bucket_start does.
    moment = (now - dt.timedelta(hours=30)).astimezone(dt.timezone(dt.timedelta(hours=5)))
    single = {"event": "e", "distinct_id": "a", "timestamp": moment.isoformat()}
    late = {**single, "timestamp": (now - dt.timedelta(days=30)).isoformat()}

    events_ingest(body=single, received_at=now)
    events_ingest(body=late, received_at=now)  # past the lateness: marks nothing
    events_ingest(body={**single, "message_id": "m"}, received_at=now)
    events_ingest(body={**single, "message_id": "m"}, received_at=now)  # a repeat: nothing

    marks = sorted(RollupDirty.objects.values_list("granularity", "bucket"))
    expected = [(g, bucket_start(moment, g)) for g in ("day", "hour", "minute")]
    assert marks == sorted(expected * 2)


def test_rollup_rebuild_command(capsys):
    from django.core.management import CommandError, call_command

    events_ingest(
        body={"event": "e", "distinct_id": "a", "timestamp": "2025-01-02T10:00:00Z"},
        received_at=timezone.now(),
    )

    call_command("rollup_rebuild", "--from", "2025-01-01", "--to", "2025-01-03")

    assert "Rolled up 3 day(s)" in capsys.readouterr().out
    assert EventRollup.objects.filter(dimension="").count() == 3  # minute, hour, day
    with pytest.raises(CommandError, match="not a date"):
        call_command("rollup_rebuild", "--from", "someday", "--to", "2025-01-03")
    with pytest.raises(CommandError, match="before"):
        call_command("rollup_rebuild", "--from", "2025-01-03", "--to", "2025-01-01")
    with pytest.raises(CommandError, match="either --all"):
        call_command("rollup_rebuild", "--all", "--from", "2025-01-01")
    with pytest.raises(CommandError, match="both"):
        call_command("rollup_rebuild", "--from", "2025-01-01")


def test_rollup_rebuild_all_from_the_first_event_and_only_the_granularities_asked(capsys):
    from django.core.management import call_command

    from analytics.models import Person

    call_command("rollup_rebuild", "--all")
    assert "nothing to roll up" in capsys.readouterr().out

    now = timezone.now()
    first = now - dt.timedelta(days=3)
    for moment in (first, now):
        events_ingest(
            body={"event": "e", "distinct_id": "a", "timestamp": moment.isoformat()},
            received_at=now,
        )
    EventRollup.objects.all().delete()

    call_command("rollup_rebuild", "--all", "--granularity", "day", "-v", "2")

    out = capsys.readouterr().out
    assert "Rolled up 4 day(s) by day." in out
    assert str(first.date()) in out  # a line per day at verbosity 2
    assert set(EventRollup.objects.values_list("granularity", flat=True)) == {"day"}
    assert EventRollup.objects.filter(dimension="").count() == 2
    assert Person.objects.get(key="a:a").first_seen == first.date()


def test_platform_metrics_are_written_with_the_day():
    from analytics.models import PlatformMetric

    now = timezone.now()
    user = UserFactory()
    track(event="signed_up", user=user)
    track(event="vote_cast", user=user)
    events_ingest(body={"event": "$pageview", "distinct_id": "visitor"}, received_at=now)

    rollups_process(granularity="day")

    values = dict(PlatformMetric.objects.filter(day=now.date()).values_list("name", "value"))
    assert values == {"events": 3, "persons": 2, "pageviews": 1, "votes": 1, "signups": 1,
                      "dau": 2, "wau": 2, "mau": 2}  # fmt: skip


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rollup_rebuild_vacuums_and_analyses_the_tables_it_wrote(capsys):
    from django.core.management import call_command
    from django.db import connection

    events_ingest(
        body={"event": "e", "distinct_id": "a", "timestamp": "2025-01-02T10:00:00Z"},
        received_at=timezone.now(),
    )

    call_command("rollup_rebuild", "--from", "2025-01-02", "--to", "2025-01-02",
                 "--granularity", "hour")  # fmt: skip

    assert "Vacuumed and analysed analytics_eventrollup." in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname IN "
            "('analytics_eventrollup', 'analytics_personactivity') "
            "AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
        )
        assert [row[0] for row in cursor.fetchall()] == ["analytics_eventrollup"]


@pytest.mark.postgres
def test_inside_a_transaction_the_tables_are_analysed_only():
    from django.db import connection

    from analytics.rollups.passes import rollup_tables_vacuum

    assert connection.in_atomic_block
    tables = rollup_tables_vacuum(("minute", "day"))

    assert tables[:2] == ["analytics_eventrollup", "analytics_timelineminute"]
    assert "analytics_personactivity" in tables and len(tables) == len(set(tables))

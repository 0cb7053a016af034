import datetime as dt
import math
import random
import statistics
from collections import Counter, defaultdict

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.maths.sessions import session_starts
from analytics.metrics import paths, session_summary, trending, voting_patterns, web_vitals
from analytics.metrics.engagement import paths_by_day, sessions_by_day
from analytics.models import Event
from analytics.rollups.passes import rollups_process
from analytics.services import events_ingest
from mysetlist.core.stats import percentile
from mysetlist.setlists.services import vote_cast
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def send(distinct_id, minutes, event="$pageview", **properties):
    events_ingest(
        body={"event": event, "distinct_id": distinct_id, "timestamp": at(minutes).isoformat(),
              "properties": properties},
        received_at=at(minutes),
    )  # fmt: skip


@pytest.fixture
def visits():
    # a: two sessions (a 40-minute gap); b: one bounced session; c: a page then a click.
    send("a", 0, path="/"), send("a", 5, path="/shows/1/"), send("a", 12, path="/artists/x/")
    send("a", 52, path="/"), send("a", 60, path="/shows/1/")
    send("b", 3, path="/shows/1/"), send("b", 4, "$web_vitals", path="/shows/1/", lcp=900.0)
    send("c", 10, path="/"), send("c", 11, "$click", name="vote-up")
    rollups_process(granularity="minute")  # the timeline, which sessions read


def test_sessions_against_a_hand_count(visits):
    summary = session_summary(start=at(-1), end=at(120))

    # a: [0, 12] 720 s and [52, 60] 480 s; b: [3, 4] 60 s; c: [10, 11] 60 s.
    assert summary.sessions == 4
    assert summary.mean_seconds == (720 + 480 + 60 + 60) / 4
    assert summary.median_seconds == (60 + 480) / 2
    assert summary.pages_per_session == (3 + 2 + 1 + 1) / 4
    assert summary.bounce_rate == 0.25  # only b: one page, then only passive vitals


def test_paths_next_and_previous(visits):
    assert paths(start=at(-1), end=at(120), page="/") == [("/", "/shows/1/", 2)]
    assert paths(start=at(-1), end=at(120), page="/shows/1/", direction="previous") == [
        ("/", "/shows/1/", 2)
    ]
    assert ("/shows/1/", "/artists/x/", 1) in paths(start=at(-1), end=at(120))


def test_sessions_split_on_gaps_over_thirty_minutes_only():
    minute = 60_000_000
    person = np.array([1, 1, 1, 2])
    moments = np.array([0, 30 * minute, 61 * minute, 62 * minute])

    assert session_starts(person, moments, gap=30 * minute).tolist() == [1, 0, 1, 1]


def test_definitions_of_a_bounce_and_a_move_between_pages():
    send("bounce", 0, path="/"), send("bounce", 1, "$pageleave", path="/")
    send("reload", 0, path="/a/"), send("reload", 1, path="/a/"), send("reload", 2, path="/b/")
    send("click", 0, path="/"), send("click", 1, "$click")
    send("no-page", 0, "vote_cast")
    rollups_process(granularity="minute")

    summary = session_summary(start=at(-1), end=at(10))
    moves = paths(start=at(-1), end=at(10))

    # Bounced: one page view and only what the tracker sends by itself. Not: a reload (two
    # page views), a click after the page, a session without a page view (a vote).
    assert (summary.sessions, summary.bounce_rate) == (4, 0.25)
    assert summary.pages_per_session == (1 + 3 + 1 + 0) / 4
    # A reload is no move: /a/, /a/, /b/ is one move from /a/ to /b/.
    assert moves == [("/a/", "/b/", 1)]


def browsing(seed=7, days=80):
    """Visits of ten persons over `days` days: bursts of page views (reloads among them),
    clicks, vitals and leaves, some gaps just over and under half an hour."""
    rng = random.Random(seed)
    events = []
    for p in range(10):
        moment = at(0)
        for _ in range(12):
            moment += dt.timedelta(days=days / 12, hours=rng.randint(0, 12))
            for _ in range(rng.randint(1, 6)):
                moment += dt.timedelta(minutes=rng.choice([0, 1, 5, 29, 31, 45]), seconds=p + 1)
                name = rng.choice(["$pageview"] * 4 + ["$click", "$web_vitals", "$pageleave"])
                page = rng.choice(["/", "/shows/1/", "/artists/x/"])
                properties = {"path": page}
                if name == "$web_vitals":
                    properties |= {"lcp": rng.randint(500, 5000), "cls": rng.random() / 4}
                events.append((f"p{p}", moment, name, properties))
    for distinct_id, moment, name, properties in events:
        events_ingest(
            body={"event": name, "distinct_id": distinct_id, "timestamp": moment.isoformat(),
                  "properties": properties},
            received_at=moment,
        )  # fmt: skip
    rollups_process(granularity="minute", max_buckets=1000)
    return events


def reference_sessions(events):
    streams = defaultdict(list)
    for distinct_id, moment, name, properties in sorted(events, key=lambda e: (e[0], e[1])):
        streams[distinct_id].append((moment, name, properties.get("path")))
    sessions = []
    for stream in streams.values():
        for event in stream:
            if (
                sessions
                and sessions[-1][0] is stream
                and event[0] - sessions[-1][1][-1][0] <= (dt.timedelta(minutes=30))
            ):
                sessions[-1][1].append(event)
            else:
                sessions.append((stream, [event]))
    return [session for _, session in sessions]


def assert_matches_reference(summary, moves, sessions):
    """The summary and moves between pages are those of the reference sessions."""
    lengths = [(s[-1][0] - s[0][0]).total_seconds() for s in sessions]
    pages = [[path for _, name, path in s if name == "$pageview"] for s in sessions]
    active = [
        [name for _, name, _ in s if name not in ("$web_vitals", "$pageleave")] for s in sessions
    ]
    assert summary.sessions == len(sessions)
    assert summary.mean_seconds == round(sum(lengths) / len(lengths), 3)
    assert summary.median_seconds == round(statistics.median(lengths), 3)
    assert summary.pages_per_session == round(sum(map(len, pages)) / len(sessions), 4)
    assert summary.bounce_rate == round(
        sum(names == ["$pageview"] for names in active) / len(sessions), 4
    )
    expected_moves = Counter(
        (a, b) for seen in pages for a, b in zip(seen, seen[1:], strict=False) if a != b
    )
    assert {(a, b): n for a, b, n in moves} == expected_moves
    assert [n for _, _, n in moves] == sorted((n for _, _, n in moves), reverse=True)


def test_a_quarter_of_sessions_paths_and_vitals_equals_a_reference_computation():
    events = browsing()
    start, end = at(-1), at(91 * 24 * 60)
    assert events[-1][1] - events[0][1] > dt.timedelta(days=60)

    summary = session_summary(start=start, end=end)
    moves = paths(start=start, end=end, limit=100)
    vitals = web_vitals(start=start, end=end)

    sessions = reference_sessions(events)
    assert_matches_reference(summary, moves, sessions)
    samples = defaultdict(lambda: defaultdict(list))
    for _, _, name, properties in events:
        if name == "$web_vitals":
            for vital in ("lcp", "cls"):
                samples[properties["path"]][vital].append(properties[vital])

    def p75(values):
        return percentile(values, 0.75)

    assert vitals == [
        {"path": page, "samples": len(by_vital["lcp"]), "lcp_p75": p75(by_vital["lcp"]),
         "inp_p75": None, "cls_p75": p75(by_vital["cls"]), "ttfb_p75": None}
        for page, by_vital in sorted(samples.items())
    ]  # fmt: skip


def test_sessions_and_paths_by_day_equal_a_reference_with_sessions_cut_at_midnight():
    events = browsing(days=20)
    rollups_process(granularity="day", max_buckets=1000)
    first, last = events[0][1].date(), events[-1][1].date()

    summary = sessions_by_day(first_day=first, last_day=last)
    moves = paths_by_day(first_day=first, last_day=last, limit=100)

    by_day = defaultdict(list)
    for event in events:
        by_day[event[1].date()].append(event)
    sessions = [s for day in sorted(by_day) for s in reference_sessions(by_day[day])]
    assert len(sessions) > len(reference_sessions(events))  # some ran past midnight
    assert_matches_reference(summary, moves, sessions)
    # One day of the rollup is session_summary over that day.
    busiest = max(by_day, key=lambda day: len(by_day[day]))
    midnight = dt.datetime.combine(busiest, dt.time(), tzinfo=dt.UTC)
    assert sessions_by_day(first_day=busiest, last_day=busiest) == session_summary(
        start=midnight, end=midnight + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    )
    assert sessions_by_day(first_day=last + dt.timedelta(days=1), last_day=last).sessions == 0
    # The answer is kept only while the days' rows stay the same: a new session counts.
    lonely = midnight + dt.timedelta(hours=23, minutes=59)
    events_ingest(body={"event": "$pageview", "distinct_id": "late-night",
                        "timestamp": lonely.isoformat()}, received_at=lonely)  # fmt: skip
    rollups_process(granularity="day", max_buckets=1000)
    assert sessions_by_day(first_day=first, last_day=last).sessions == summary.sessions + 1


def test_web_vitals_p75_per_page():
    for n, lcp in enumerate([1000, 2000, 3000, 4000, 5000]):
        send(f"v{n}", n, "$web_vitals", path="/shows/1/", lcp=lcp, cls=0.01 * n, ttfb=100 + n)
    send("w", 9, "$web_vitals", path="/", lcp="junk")
    for n, ttfb in enumerate([100, 300]):  # the 75th percentile of two: three quarters up
        send(f"t{n}", n, "$web_vitals", path="/two/", ttfb=ttfb)

    pages = {row["path"]: row for row in web_vitals(start=at(-1), end=at(30))}

    shows = pages["/shows/1/"]
    assert (shows["samples"], shows["lcp_p75"], shows["ttfb_p75"]) == (5, 4000.0, 103.0)
    assert math.isclose(shows["cls_p75"], 0.03) and shows["inp_p75"] is None
    assert "/" not in pages  # its only sample was junk: nothing measured there
    assert (pages["/two/"]["samples"], pages["/two/"]["ttfb_p75"]) == (2, 250.0)


def test_trending_decays_with_age_and_weighs_votes():
    now = timezone.now()

    def ingest(show_id, event, hours_ago, n):
        moment = (now - dt.timedelta(hours=hours_ago)).isoformat()
        for i in range(n):
            body = {"event": event, "distinct_id": f"d{i}", "timestamp": moment,
                    "properties": {"show_id": show_id}}  # fmt: skip
            events_ingest(body=body, received_at=now)

    ingest(1, "$pageview", 0.1, 10)  # fresh views
    ingest(2, "vote_cast", 0.1, 4)  # fresh votes: 3 each
    ingest(3, "$pageview", 24, 60)  # many, but a day old: four half-lives
    rollups_process(granularity="minute")
    rollups_process(granularity="hour")

    ranked = trending(kind="show", now=now)

    assert [row["id"] for row in ranked] == [2, 1, 3]
    assert (ranked[0]["votes"], ranked[1]["views"], ranked[2]["views"]) == (4, 10, 60)
    assert 11 < ranked[0]["score"] <= 12 and ranked[2]["score"] < 4


def test_trending_scores_equal_a_reference_computation_over_the_rollups():
    from analytics.models import EventRollup
    from analytics.rollups.buckets import STEP

    now = timezone.now()
    rng = random.Random(5)
    for _ in range(300):
        moment = now - dt.timedelta(minutes=rng.randint(0, 60 * 60))
        body = {"event": rng.choice(["$pageview", "vote_cast", "$click"]),
                "distinct_id": f"d{rng.randint(0, 40)}", "timestamp": moment.isoformat(),
                "properties": {"show_id": rng.randint(1, 12)}}  # fmt: skip
        events_ingest(body=body, received_at=now)
    rollups_process(granularity="minute", max_buckets=5000)
    rollups_process(granularity="hour", max_buckets=5000)

    ranked = trending(kind="show", now=now, hours=48, limit=8)

    cut = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    scores = defaultdict(lambda: [0.0, 0, 0])
    for row in EventRollup.objects.filter(
        dimension="show_id", event__in=["$pageview", "vote_cast"],
        bucket__gte=now - dt.timedelta(hours=48),
    ):  # fmt: skip
        if (row.granularity == "minute") != (row.bucket >= cut) or row.granularity == "day":
            continue
        age = (now - (row.bucket + STEP[row.granularity] / 2)).total_seconds() / 3600
        weight = 3.0 if row.event == "vote_cast" else 1.0
        scores[row.value][0] += row.count * weight * 0.5 ** (max(age, 0) / 6.0)
        scores[row.value][1 if row.event == "$pageview" else 2] += row.count
    expected = sorted(scores.items(), key=lambda item: (-item[1][0], item[0]))[:8]
    assert len(expected) == 8
    assert [(r["id"], r["score"], r["views"], r["votes"]) for r in ranked] == [
        (int(value), round(score, 4), views, votes) for value, (score, views, votes) in expected
    ]


def test_voting_patterns_of_a_show():
    show = ShowFactory(voting_open=True)
    loved, other = SongFactory(artist=show.artist), SongFactory(artist=show.artist)
    fans = UserFactory.create_batch(3)
    for fan in fans:
        vote_cast(user=fan, show_id=show.pk, song_id=loved.pk, value=1)
    vote_cast(user=fans[0], show_id=show.pk, song_id=other.pk, value=-1)
    rollups_process(granularity="minute")
    now = timezone.now()

    patterns = voting_patterns(show_id=show.pk, start=now - dt.timedelta(minutes=5), end=now)

    assert patterns["interval"] == "minute" and sum(n for _, n in patterns["votes"]) == 4
    assert [s["song_id"] for s in patterns["top_songs"]] == [loved.pk, other.pk]
    assert patterns["top_songs"][0]["score"] == 3
    assert patterns["unique_voters"] == 3


def test_voting_patterns_api_reads_a_whole_day_by_hour_or_day(client):
    show = ShowFactory(voting_open=True)
    songs = SongFactory.create_batch(2, artist=show.artist)
    for fan in UserFactory.create_batch(3):
        for song in songs:
            vote_cast(user=fan, show_id=show.pk, song_id=song.pk, value=1)
    for granularity in ("minute", "hour", "day"):
        rollups_process(granularity=granularity)
    client.force_login(UserFactory(is_staff=True))
    url = reverse("analytics-api:voting-patterns", args=[show.pk])
    today = timezone.now().date()
    day = {"date_from": today.isoformat(), "date_to": today.isoformat()}

    by_minute = client.get(url, day)
    by_hour = client.get(url, {**day, "interval": "hour"})
    by_day = client.get(url, {**day, "interval": "day"})
    by_week = client.get(url, {**day, "interval": "week"})

    assert by_minute.status_code == 400 and "interval" in by_minute.json()["extra"]["fields"]
    assert by_week.status_code == 400 and "interval" in by_week.json()["extra"]["fields"]
    assert by_hour.status_code == by_day.status_code == 200
    votes = Counter(
        moment.replace(minute=0, second=0, microsecond=0).isoformat()
        for moment in Event.objects.filter(event="vote_cast").values_list("timestamp", flat=True)
    )
    hours = by_hour.json()
    assert hours["interval"] == "hour" and len(hours["votes"]) == 24
    assert {bucket: n for bucket, n in hours["votes"] if n} == votes
    assert by_day.json()["votes"] == [[f"{today.isoformat()}T00:00:00+00:00", 6]]
    assert by_day.json()["unique_voters"] == 3 and len(by_day.json()["top_songs"]) == 2


def test_engagement_apis(client, visits):
    client.force_login(UserFactory(is_staff=True))
    span = {"date_from": at(-1).isoformat(), "date_to": at(120).isoformat()}
    show = ShowFactory()

    sessions = client.get(reverse("analytics-api:sessions"), span)
    moves = client.get(reverse("analytics-api:paths"), {**span, "page": "/"})
    vitals = client.get(reverse("analytics-api:web-vitals"), span)
    hot = client.get(reverse("analytics-api:trending"), {"kind": "artist"})
    voting = client.get(reverse("analytics-api:voting-patterns", args=[show.pk]), span)
    missing = client.get(reverse("analytics-api:voting-patterns", args=[999999]), span)
    too_long = client.get(
        reverse("analytics-api:sessions"), {"date_from": "2026-01-01", "date_to": "2026-06-01"}
    )

    assert sessions.json()["sessions"] == 4
    assert moves.json() == [{"from": "/", "to": "/shows/1/", "count": 2}]
    assert vitals.json()[0]["path"] == "/shows/1/"
    assert hot.status_code == 200 and voting.json()["unique_voters"] == 0
    assert missing.status_code == 404
    assert too_long.status_code == 400
    quarter = {"date_from": "2026-07-01", "date_to": "2026-09-30"}
    for name in ("sessions", "paths", "web-vitals"):
        assert client.get(reverse(f"analytics-api:{name}"), quarter).status_code == 200
    assert Counter(r.status_code for r in [sessions, moves, vitals, hot, voting]) == {200: 5}


def test_page_views_say_which_show_they_were_for(client):
    show = ShowFactory()

    client.get(show.get_absolute_url(), HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0")

    view = Event.objects.get(event="$pageview")
    assert (view.properties["show_id"], view.properties["artist_id"]) == (show.pk, show.artist_id)

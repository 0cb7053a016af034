import datetime as dt
import itertools
import random
from collections import defaultdict

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.maths.funnels import period_index, period_start
from analytics.metrics import funnel, funnel_first_time, retention
from analytics.models import DistinctIdLink, Person, TimelineMinute
from analytics.rollups.passes import rollups_process, rollups_rebuild
from analytics.rollups.timeline import micros, moments_unpack, person_number
from analytics.services import distinct_id_link, events_ingest, track
from mysetlist.core.exceptions import ApplicationError
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

STEPS = ["$pageview", "vote_cast", "artist_followed"]


def generate(now, *, persons=30, per_person=8, days=3, seed=9):
    rng = random.Random(seed)
    events = []
    for p in range(persons):
        for i in range(rng.randint(1, per_person)):
            moment = now - dt.timedelta(minutes=rng.randint(0, days * 24 * 60))
            events.append({
                "event": rng.choice(STEPS + ["click"]), "distinct_id": f"p{p}",
                "message_id": f"f{seed}-{p}-{i}", "timestamp": moment.isoformat(),
                "properties": {"device": "mobile" if p % 2 else "desktop"},
                "context": {"device_type": "mobile" if p % 2 else "desktop"},
            })  # fmt: skip
    return events


def ingest(events, now):
    """Store the events and run the minute job, which keeps the timeline funnels read."""
    for start in range(0, len(events), 200):
        events_ingest(body={"batch": events[start : start + 200]}, received_at=now)
    rollups_process(granularity="minute")


def brute_force_funnel(events, steps, window, start, end):
    """For each k: persons with some k events named steps[:k] at strictly rising times, the
    first between start and end, the last within window of the first."""
    by_person = defaultdict(list)
    for e in events:
        if e["event"] in steps:
            by_person[e["distinct_id"]].append(
                (dt.datetime.fromisoformat(e["timestamp"]), e["event"])
            )
    counts = []
    for k in range(1, len(steps) + 1):
        n = 0
        for person_events in by_person.values():
            for combo in itertools.combinations(sorted(person_events), k):
                times = [t for t, _ in combo]
                if ([name for _, name in combo] == steps[:k] and start <= times[0] <= end
                        and all(a < b for a, b in itertools.pairwise(times))
                        and times[-1] - times[0] <= window):  # fmt: skip
                    n += 1
                    break
        counts.append(n)
    return counts


@pytest.mark.parametrize("window_hours", [1, 6, 48])
def test_funnel_equals_a_brute_force_count(window_hours):
    now = timezone.now()
    events = generate(now)
    ingest(events, now)
    start, window = now - dt.timedelta(days=2), dt.timedelta(hours=window_hours)

    result = funnel(steps=STEPS, window=window, start=start, end=now)

    steps = result[None]
    assert [s.persons for s in steps] == brute_force_funnel(events, STEPS, window, start, now)
    assert steps[0].conversion_from_first == 1.0 or steps[0].persons == 0
    assert steps[1].dropped == steps[0].persons - steps[1].persons


@pytest.mark.parametrize(
    ("steps", "window_minutes"),
    [(["$pageview", "vote_cast", "$pageview"], 90), (["vote_cast", "vote_cast"], 30),
     (["click", "$pageview", "vote_cast", "artist_followed"], 600)],
)  # fmt: skip
def test_funnel_with_repeated_steps_and_ties_equals_a_brute_force_count(steps, window_minutes):
    now = timezone.now().replace(second=0, microsecond=0)
    events = generate(now, persons=40, per_person=14, days=1, seed=21)
    for n, e in enumerate(events):  # whole minutes: many steps share a moment
        if n % 3 == 0:
            moment = dt.datetime.fromisoformat(e["timestamp"]).replace(second=0, microsecond=0)
            e["timestamp"] = moment.isoformat()
    ingest(events, now)
    start, window = now - dt.timedelta(hours=20), dt.timedelta(minutes=window_minutes)

    steps_out = funnel(steps=steps, window=window, start=start, end=now)[None]

    expected = brute_force_funnel(events, steps, window, start, now)
    assert [s.persons for s in steps_out] == expected
    assert expected[1] > 0


def test_funnel_sees_browsing_before_a_login_as_the_same_person():
    fan = UserFactory()
    browser = "0123456789abcdef0123456789abcdef"
    now = timezone.now()
    events_ingest(
        body={"event": "$pageview", "distinct_id": browser, "message_id": "before",
              "timestamp": (now - dt.timedelta(minutes=10)).isoformat()},
        received_at=now,
    )  # fmt: skip
    rollups_process(granularity="minute")  # the page view is in the timeline as anonymous

    distinct_id_link(distinct_id=browser, user=fan)  # they log in, then vote
    track(event="vote_cast", user=fan)
    rollups_process(granularity="minute")

    steps = funnel(
        steps=["$pageview", "vote_cast"], window=dt.timedelta(hours=1),
        start=now - dt.timedelta(hours=1), end=now + dt.timedelta(minutes=1),
    )[None]  # fmt: skip
    assert [s.persons for s in steps] == [1, 1]
    # Stored under the browser's number and the account's; read as one person.
    assert stored_persons() == {person_number(f"a:{browser}"), person_number(f"u:{fan.pk}")}


def stored_persons():
    return {
        int(person)
        for row in TimelineMinute.objects.all()
        for person in moments_unpack(bytes(row.moments))[0]
    }


def test_timeline_numbers_persons_and_moments_as_python_does():
    now = timezone.now()
    moment = now - dt.timedelta(minutes=3, microseconds=7)
    events_ingest(
        body={"event": "click", "distinct_id": "anon-ü", "message_id": "n1",
              "timestamp": moment.isoformat()},
        received_at=now,
    )  # fmt: skip
    track(event="vote_cast", user=UserFactory())
    rollups_process(granularity="minute")

    rows = {
        (int(person), int(at), row.event, row.minute)
        for row in TimelineMinute.objects.all()
        for person, at in zip(*moments_unpack(bytes(row.moments)), strict=True)
    }

    minute = moment.replace(second=0, microsecond=0)
    assert (person_number("a:anon-ü"), micros(moment), "click", minute) in rows
    assert len(rows) == 2


def brute_force_first_time_funnel(events, steps, window, start, end):
    """Per person, the first time of each step: the first in range, each later one after the
    one before and within window of the first."""
    first = {}
    for e in events:
        key, moment = (e["distinct_id"], e["event"]), dt.datetime.fromisoformat(e["timestamp"])
        first[key] = min(first.get(key, moment), moment)
    counts = [0] * len(steps)
    for person in {e["distinct_id"] for e in events}:
        begun = first.get((person, steps[0]))
        if begun is None or not start <= begun <= end:
            continue
        counts[0], previous = counts[0] + 1, begun
        for k, step in enumerate(steps[1:], 1):
            moment = first.get((person, step))
            if moment is None or not previous < moment <= begun + window:
                break
            counts[k], previous = counts[k] + 1, moment
    return counts


@pytest.mark.parametrize("window_hours", [2, 24, 60])
def test_first_time_funnel_equals_a_brute_force_count(window_hours):
    now = timezone.now()
    events = generate(now, persons=60, seed=12)
    ingest(events, now)
    rollups_rebuild(start=now - dt.timedelta(days=4), end=now)
    start, window = now - dt.timedelta(days=2), dt.timedelta(hours=window_hours)

    steps = funnel_first_time(steps=STEPS, window=window, start=start, end=now)

    expected = brute_force_first_time_funnel(events, STEPS, window, start, now)
    assert [s.persons for s in steps] == expected
    assert expected[0] > expected[1] > 0


def test_first_time_funnel_counts_only_first_times():
    now = timezone.now()
    t = [now - dt.timedelta(hours=h) for h in (5, 4, 3)]
    for n, (name, moment) in enumerate([("vote_cast", t[0]), ("$pageview", t[1]),
                                        ("vote_cast", t[2])]):  # fmt: skip
        events_ingest(
            body={"event": name, "distinct_id": "fan", "message_id": f"m{n}",
                  "timestamp": moment.isoformat()},
            received_at=now,
        )  # fmt: skip
    rollups_rebuild(start=t[0], end=now)
    steps, window = ["$pageview", "vote_cast"], dt.timedelta(hours=6)

    first_time = funnel_first_time(steps=steps, window=window, start=t[0], end=now)
    sequence = funnel(steps=steps, window=window, start=t[0], end=now)[None]

    # Their first vote came before their first page view: converted in sequence only.
    assert [s.persons for s in first_time] == [1, 0]
    assert [s.persons for s in sequence] == [1, 1]


@pytest.mark.parametrize("breakdown", ["device", "context.device_type"])
def test_funnel_breakdown_splits_persons_by_their_first_step(breakdown):
    now = timezone.now()
    events = generate(now, seed=4)
    ingest(events, now)
    start = now - dt.timedelta(days=3)

    split = funnel(
        steps=STEPS[:2], window=dt.timedelta(days=1), start=start, end=now, breakdown=breakdown
    )
    whole = funnel(steps=STEPS[:2], window=dt.timedelta(days=1), start=start, end=now)

    assert set(split) == {"mobile", "desktop"}
    for k in range(2):
        assert sum(steps[k].persons for steps in split.values()) == whole[None][k].persons


def test_funnel_refuses_what_it_cannot_answer():
    now = timezone.now()
    with pytest.raises(ApplicationError, match="2 to 10"):
        funnel(steps=["a"], window=dt.timedelta(days=1), start=now, end=now)
    with pytest.raises(ApplicationError, match="at most 93 days"):
        funnel(
            steps=["a", "b"],
            window=dt.timedelta(days=1),
            start=now - dt.timedelta(days=100),
            end=now,
        )


def brute_force_retention(events, period, periods, first_day, last_day, returning_event=None):
    days, returning_days = defaultdict(set), defaultdict(set)
    for e in events:
        day = dt.datetime.fromisoformat(e["timestamp"]).astimezone(dt.UTC).date()
        days[e["distinct_id"]].add(day)
        if returning_event in (None, e["event"]):
            returning_days[e["distinct_id"]].add(day)
    cohorts = defaultdict(list)
    for person, active in days.items():
        first = min(active)
        if first_day <= first <= last_day:
            cohorts[period_start(first, period)].append(person)
    return [
        (start, len(members), [
            sum(1 for p in members
                if any(period_index(start, d, period) == k for d in returning_days[p]))
            for k in range(periods)
        ])
        for start, members in sorted(cohorts.items())
    ]  # fmt: skip


@pytest.mark.parametrize("returning_event", [None, "vote_cast"])
@pytest.mark.parametrize("period", ["week", "month"])
def test_retention_equals_a_brute_force_count(period, returning_event):
    now = timezone.now()
    events = generate(now, persons=40, per_person=10, days=120, seed=2)
    ingest(events, now)
    rollups_rebuild(start=now - dt.timedelta(days=121), end=now)
    first_day, last_day = (now - dt.timedelta(days=110)).date(), now.date()

    result = retention(
        period=period,
        periods=5,
        first_day=first_day,
        last_day=last_day,
        returning_event=returning_event,
    )

    assert [(c.start, c.size, c.returning) for c in result] == brute_force_retention(
        events, period, 5, first_day, last_day, returning_event
    )
    assert len(result) >= 3 and any(c.returning[1] for c in result)


def test_retention_period_zero_is_the_cohort_or_its_members_doing_the_returning_event():
    monday = period_start(timezone.now().date(), "week") - dt.timedelta(weeks=3)

    def send(distinct_id, event, day):
        moment = dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(12), dt.UTC)
        body = {"event": event, "distinct_id": distinct_id, "timestamp": moment.isoformat()}
        events_ingest(body=body, received_at=timezone.now())

    send("a", "$pageview", 0), send("a", "vote_cast", 8)  # votes the week after only
    send("b", "$pageview", 1), send("b", "vote_cast", 2)  # votes in its first week
    send("c", "vote_cast", 3)  # enters by voting
    start = dt.datetime.combine(monday, dt.time(), dt.UTC)
    rollups_rebuild(start=start, end=start + dt.timedelta(days=9))
    sunday = monday + dt.timedelta(days=6)
    window = {"period": "week", "periods": 2, "first_day": monday, "last_day": sunday}

    [anything] = retention(**window)
    [voting] = retention(**window, returning_event="vote_cast")

    assert (anything.size, anything.returning) == (3, [3, 1])  # period 0: the whole cohort
    assert (voting.size, voting.returning) == (3, [2, 1])  # b and c voted in week 0, a later


def test_retention_by_signup_on_a_chosen_event():
    fan = UserFactory()
    now = timezone.now()
    track(event="signed_up", user=fan)
    track(event="vote_cast", user=fan)
    events_ingest(body={"event": "vote_cast", "distinct_id": "stranger"}, received_at=now)
    rollups_process(granularity="day")

    result = retention(
        period="week",
        periods=2,
        first_day=now.date() - dt.timedelta(days=7),
        last_day=now.date(),
        cohort_by="signup",
        returning_event="vote_cast",
    )

    assert [(c.size, c.returning) for c in result] == [(1, [1, 0])]


def test_a_late_older_event_moves_its_person_to_an_earlier_cohort():
    now = timezone.now()
    this_monday = period_start(now.date(), "week")
    earlier = dt.datetime.combine(this_monday - dt.timedelta(days=14), dt.time(12), dt.UTC)
    events_ingest(body={"event": "$pageview", "distinct_id": "fan"}, received_at=now)
    rollups_process(granularity="day")
    window = {"period": "week", "periods": 3, "first_day": earlier.date(), "last_day": now.date()}
    before = retention(**window)

    # Older than the rollup lateness: counted once rebuilt, as an import would be.
    events_ingest(
        body={"event": "$pageview", "distinct_id": "fan", "timestamp": earlier.isoformat()},
        received_at=now,
    )
    rollups_rebuild(start=earlier, end=earlier)
    after = retention(**window)

    assert [(c.start, c.size, c.returning) for c in before] == [(this_monday, 1, [1, 0, 0])]
    assert [(c.start, c.size, c.returning) for c in after] == [
        (this_monday - dt.timedelta(days=14), 1, [1, 0, 1])
    ]
    assert Person.objects.get(key="a:fan").first_seen == earlier.date()


def test_signup_cohorts_count_from_the_signup_not_from_first_seen():
    fan = UserFactory()
    now = timezone.now()
    monday = period_start(now.date(), "week")
    before = dt.datetime.combine(monday - dt.timedelta(days=7), dt.time(9), dt.UTC)
    # Browsing a week before signing up, on a browser linked to the account at sign-up.
    events_ingest(
        body={"event": "$pageview", "distinct_id": "fans-browser", "timestamp": before.isoformat()},
        received_at=now,
    )
    DistinctIdLink.objects.create(distinct_id="fans-browser", user=fan)
    track(event="signed_up", user=fan)
    rollups_rebuild(start=before, end=now)
    window = {"period": "week", "periods": 2, "first_day": before.date(), "last_day": now.date()}

    by_signup = retention(**window, cohort_by="signup")
    by_first_seen = retention(**window)

    assert [(c.start, c.size, c.returning) for c in by_signup] == [(monday, 1, [1, 0])]
    assert [(c.start, c.size, c.returning) for c in by_first_seen] == [
        (monday - dt.timedelta(days=7), 1, [1, 1])
    ]


def test_funnel_and_retention_apis(client):
    client.force_login(UserFactory(is_staff=True))
    today = timezone.now().date()

    funnels = client.get(
        reverse("analytics-api:funnels"),
        {"steps": ["$pageview", "vote_cast"], "date_from": str(today), "date_to": str(today)},
    )
    one_step = client.get(
        reverse("analytics-api:funnels"),
        {"steps": ["a"], "date_from": str(today), "date_to": str(today)},
    )
    cohorts = client.get(
        reverse("analytics-api:retention"), {"date_from": str(today), "date_to": str(today)}
    )

    first_time = client.get(
        reverse("analytics-api:funnels"),
        {"steps": ["$pageview", "vote_cast"], "date_from": str(today), "date_to": str(today),
         "mode": "first_time"},
    )  # fmt: skip
    split_first_time = client.get(
        reverse("analytics-api:funnels"),
        {"steps": ["$pageview", "vote_cast"], "date_from": str(today), "date_to": str(today),
         "mode": "first_time", "breakdown": "device"},
    )  # fmt: skip

    repeated_first_time = client.get(
        reverse("analytics-api:funnels"),
        {"steps": ["$pageview", "$pageview"], "date_from": str(today), "date_to": str(today),
         "mode": "first_time"},
    )  # fmt: skip

    assert repeated_first_time.status_code == 400
    assert "steps" in repeated_first_time.json()["extra"]["fields"]
    assert first_time.status_code == 200
    assert [s["persons"] for s in first_time.json()[0]["steps"]] == [0, 0]
    assert split_first_time.status_code == 400
    assert "breakdown" in split_first_time.json()["extra"]["fields"]
    assert funnels.status_code == 200
    assert [s["event"] for s in funnels.json()[0]["steps"]] == ["$pageview", "vote_cast"]
    assert one_step.status_code == 400 and "steps" in one_step.json()["extra"]["fields"]
    assert cohorts.status_code == 200 and cohorts.json() == []

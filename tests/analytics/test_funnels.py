import datetime as dt
import itertools
import random
from collections import defaultdict

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.funnel import period_index, period_start, steps_reached
from analytics.metrics import funnel, retention
from analytics.rollups import rollups_rebuild
from analytics.services import events_ingest
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
            })  # fmt: skip
    return events


def ingest(events, now):
    for start in range(0, len(events), 200):
        events_ingest(body={"batch": events[start : start + 200]}, received_at=now)


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


def test_funnel_breakdown_splits_persons_by_their_first_step():
    now = timezone.now()
    events = generate(now, seed=4)
    ingest(events, now)
    start = now - dt.timedelta(days=3)

    split = funnel(
        steps=STEPS[:2], window=dt.timedelta(days=1), start=start, end=now, breakdown="device"
    )
    whole = funnel(steps=STEPS[:2], window=dt.timedelta(days=1), start=start, end=now)

    assert set(split) <= {"mobile", "desktop"}
    for k in range(2):
        assert sum(steps[k].persons for steps in split.values()) == whole[None][k].persons


def test_steps_reached_takes_the_attempt_that_gets_furthest():
    t = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=h) for h in range(5)]
    # A first try at 0h stalls (its second step comes too late); a second at 3h completes.
    times = [(t[0], "a"), (t[3], "a"), (t[4], "b")]

    assert steps_reached(times, ["a", "b"], dt.timedelta(hours=2), t[0], t[4]) == 2
    assert steps_reached(times, ["a", "b"], dt.timedelta(hours=2), t[0], t[2]) == 1


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


def brute_force_retention(events, period, periods, first_day, last_day):
    days = defaultdict(set)
    for e in events:
        days[e["distinct_id"]].add(
            dt.datetime.fromisoformat(e["timestamp"]).astimezone(dt.UTC).date()
        )
    cohorts = defaultdict(list)
    for person, active in days.items():
        first = min(active)
        if first_day <= first <= last_day:
            cohorts[period_start(first, period)].append(person)
    return [
        (start, len(members), [
            sum(1 for p in members if any(period_index(start, d, period) == k for d in days[p]))
            for k in range(periods)
        ])
        for start, members in sorted(cohorts.items())
    ]  # fmt: skip


@pytest.mark.parametrize("period", ["week", "month"])
def test_retention_equals_a_brute_force_count(period):
    now = timezone.now()
    events = generate(now, persons=40, per_person=10, days=120, seed=2)
    ingest(events, now)
    rollups_rebuild(start=now - dt.timedelta(days=121), end=now)
    first_day, last_day = (now - dt.timedelta(days=110)).date(), now.date()

    result = retention(period=period, periods=5, first_day=first_day, last_day=last_day)

    assert [(c.start, c.size, c.returning) for c in result] == brute_force_retention(
        events, period, 5, first_day, last_day
    )
    assert all(c.returning[0] == c.size for c in result)


def test_retention_by_signup_on_a_chosen_event():
    from analytics.services import track

    fan = UserFactory()
    now = timezone.now()
    track(event="signed_up", user=fan)
    track(event="vote_cast", user=fan)
    events_ingest(body={"event": "vote_cast", "distinct_id": "stranger"}, received_at=now)

    result = retention(
        period="week",
        periods=2,
        first_day=now.date() - dt.timedelta(days=7),
        last_day=now.date(),
        cohort_by="signup",
        returning_event="vote_cast",
    )

    assert [(c.size, c.returning) for c in result] == [(1, [1, 0])]


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

    assert funnels.status_code == 200
    assert [s["event"] for s in funnels.json()[0]["steps"]] == ["$pageview", "vote_cast"]
    assert one_step.status_code == 400 and "steps" in one_step.json()["extra"]["fields"]
    assert cohorts.status_code == 200 and cohorts.json() == []

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.lifecycle.erasure import erasure_process, erasures_redrive
from analytics.models import (
    DistinctIdLink,
    ErasureRequest,
    Event,
    EventRollup,
    Person,
    PersonActivity,
    TimelineMinute,
)
from analytics.rollups.passes import rollups_process
from analytics.rollups.timeline import moments_unpack, person_number
from analytics.services import events_ingest, track
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def browser_event(distinct_id, n):
    events_ingest(
        body={"event": "$pageview", "distinct_id": distinct_id, "message_id": f"{distinct_id}-{n}"},
        received_at=timezone.now(),
    )


def timeline_persons():
    return [
        int(person)
        for row in TimelineMinute.objects.all()
        for person in moments_unpack(bytes(row.moments))[0]
    ]


def test_deleting_a_user_erases_their_events_and_corrects_rollups(
    django_capture_on_commit_callbacks,
):
    leaver, stayer = UserFactory(), UserFactory()
    DistinctIdLink.objects.create(distinct_id="leavers-browser", user=leaver)
    track(event="vote_cast", user=leaver)
    browser_event("leavers-browser", 1)
    track(event="vote_cast", user=stayer)
    browser_event("someone-else", 1)
    rollups_process(granularity="day")
    rollups_process(granularity="minute")
    assert EventRollup.objects.get(granularity="day", event="vote_cast", dimension="").count == 2
    leavers = person_number(f"u:{leaver.pk}")
    assert timeline_persons().count(leavers) == 2
    assert Person.objects.filter(key=f"u:{leaver.pk}").exists()

    with django_capture_on_commit_callbacks(execute=True):
        leaver.delete()

    request = ErasureRequest.objects.get()
    assert request.done_at is not None and request.events_deleted == 2
    assert sorted(Event.objects.values_list("distinct_id", flat=True)) == [
        "someone-else",
        f"user:{stayer.pk}",
    ]
    rollups_process(granularity="day")
    vote = EventRollup.objects.get(granularity="day", event="vote_cast", dimension="")
    assert (vote.count, vote.persons) == (1, 1)
    assert sorted(Person.objects.values_list("key", flat=True)) == [
        "a:someone-else",
        f"u:{stayer.pk}",
    ]
    assert not PersonActivity.objects.filter(person__key=f"u:{leaver.pk}").exists()
    rollups_process(granularity="minute")
    assert leavers not in timeline_persons()
    assert len(timeline_persons()) == 2


def test_erasure_runs_once():
    user = UserFactory()
    track(event="e", user=user)
    request = ErasureRequest.objects.create(user_id=user.pk, distinct_ids=[f"user:{user.pk}"])

    first = erasure_process(request_id=request.pk)
    second = erasure_process(request_id=request.pk)

    assert first.events_deleted == second.events_deleted == 1
    assert first.done_at == second.done_at


def test_pending_erasures_are_started_again():
    stale = ErasureRequest.objects.create(user_id=1, distinct_ids=["user:1"])
    ErasureRequest.objects.filter(pk=stale.pk).update(
        requested_at=timezone.now() - dt.timedelta(hours=1)
    )
    fresh = ErasureRequest.objects.create(user_id=2, distinct_ids=["user:2"])

    assert erasures_redrive() == [stale.pk]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.done_at is not None and fresh.done_at is None  # the eager task ran


def test_export_lists_only_my_events(client):
    me, other = UserFactory(), UserFactory()
    DistinctIdLink.objects.create(distinct_id="my-browser", user=me)
    track(event="vote_cast", user=me, properties={"show_id": 1})
    browser_event("my-browser", 1)
    track(event="vote_cast", user=other)
    client.force_login(me)

    response = client.get(reverse("analytics-api:my-event-list"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [e["event"] for e in body["results"]] == ["vote_cast", "$pageview"]
    assert body["results"][0]["properties"] == {"show_id": 1}


def test_export_needs_login(client):
    assert client.get(reverse("analytics-api:my-event-list")).status_code in (401, 403)


def test_events_arriving_after_an_erasure_are_swept_for_a_week():
    leaver = UserFactory()
    DistinctIdLink.objects.create(distinct_id="a" * 32, user=leaver)
    request = ErasureRequest.objects.create(user_id=leaver.pk, distinct_ids=["a" * 32])
    erasure_process(request_id=request.pk)
    browser_event("a" * 32, 1)  # a beacon queued in their browser lands afterwards
    browser_event("someone-else", 1)

    from analytics.lifecycle.erasure import erasures_sweep

    assert erasures_sweep() == 1
    assert list(Event.objects.values_list("distinct_id", flat=True)) == ["someone-else"]
    request.refresh_from_db()
    assert request.events_deleted == 1
    later = timezone.now() + dt.timedelta(days=8)
    browser_event("a" * 32, 2)
    assert erasures_sweep(now=later) == 0  # a week on, sweeping stops

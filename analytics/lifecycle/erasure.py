"""Erasure of a user's analytics events (GDPR), and export of them."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from analytics.models import DistinctIdLink, ErasureRequest, Event, Person, RollupDirty
from analytics.rollups.buckets import GRANULARITIES, bucket_start
from analytics.rollups.passes import live_pass_wait
from analytics.rollups.people import person_keys
from mysetlist.users.models import User


def _distinct_ids(user_id: int) -> list[str]:
    linked = DistinctIdLink.objects.filter(user_id=user_id).values_list("distinct_id", flat=True)
    return [f"user:{user_id}", *linked]


def user_events(*, user: User) -> QuerySet[Event]:
    """Return every event of the user: sent as them, or from a browser they logged in on."""
    return Event.objects.filter(
        Q(user_id=user.pk) | Q(distinct_id__in=_distinct_ids(user.pk))
    ).order_by("timestamp", "id")


@transaction.atomic
def erasure_request_create(*, user: User) -> ErasureRequest:
    """Record that the user's events must go, and start the job when this commits."""
    request = ErasureRequest.objects.create(user_id=user.pk, distinct_ids=_distinct_ids(user.pk))
    from analytics.tasks import erasure_process as erasure_process_task

    transaction.on_commit(lambda: erasure_process_task.delay(request.pk))
    return request


def _erase(request: ErasureRequest) -> int:
    """Delete the request's events and mark the rollup buckets they were counted in.

    Waits for a running live pass first, which holds its lock to the end of the transaction:
    a batch's events may not change between its reading them and the exact pass's taking
    them for still to come (analytics.rollups.passes)."""
    live_pass_wait()
    events = Event.objects.filter(
        Q(user_id=request.user_id) | Q(distinct_id__in=request.distinct_ids)
    )
    moments = list(events.values_list("timestamp", flat=True))
    deleted, _ = events.delete()
    # Their retention rows go with them; day rollups recreate nobody, the events being gone.
    keys = person_keys(user_id=request.user_id, distinct_ids=request.distinct_ids)
    Person.objects.filter(key__in=keys).delete()
    now = timezone.now()
    # A correction, whatever the lateness: every bucket they were counted in is recomputed.
    marks = {(g, bucket_start(moment, g)) for moment in moments for g in GRANULARITIES}
    RollupDirty.objects.bulk_create(
        [RollupDirty(granularity=g, bucket=b, marked_at=now) for g, b in sorted(marks)]
    )
    return deleted


@transaction.atomic
def erasure_process(*, request_id: int) -> ErasureRequest:
    """Erase the events of a request, once; later sweeps catch what arrives afterwards."""
    request = ErasureRequest.objects.select_for_update().get(pk=request_id)
    if request.done_at:
        return request
    request.events_deleted = _erase(request)
    request.done_at = timezone.now()
    request.save(update_fields=["done_at", "events_deleted"])
    return request


SWEEP_DAYS = 7


@transaction.atomic
def erasures_sweep(*, now=None) -> int:
    """Erase again, for a week after each erasure, events that arrived since with the erased
    ids (a browser's queued beacons, a retried batch). Return how many were deleted."""
    now = now or timezone.now()
    recent = ErasureRequest.objects.select_for_update().filter(
        done_at__gte=now - timezone.timedelta(days=SWEEP_DAYS)
    )
    total = 0
    for request in recent:
        deleted = _erase(request)
        if deleted:
            request.events_deleted += deleted
            request.save(update_fields=["events_deleted"])
            total += deleted
    return total


def erasures_redrive(*, older_than_minutes: int = 10) -> list[int]:
    """Start again every erasure still pending after a while (its message may have been lost),
    and sweep the recent ones for late arrivals."""
    from analytics.tasks import erasure_process as erasure_process_task

    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    pending = list(
        ErasureRequest.objects.filter(done_at__isnull=True, requested_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for request_id in pending:
        erasure_process_task.delay(request_id)
    erasures_sweep()
    return pending

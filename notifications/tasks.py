from celery import shared_task
from django.db import InterfaceError, OperationalError

_TRANSIENT = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": 5,
}
CLAIM = 200  # deliveries a task sends


@shared_task(name="notifications.deliveries_dispatch", soft_time_limit=60, time_limit=90)
def deliveries_dispatch() -> int:
    """Lease the due deliveries a batch at a time and hand each batch to a worker. Beat runs
    this every few seconds, so a lease that ran out (its worker died) is picked up again."""
    from django.utils import timezone

    from .delivery import deliveries_claim

    handed = 0
    while ids := deliveries_claim(now=timezone.now(), limit=CLAIM):
        deliveries_send.delay(ids)
        handed += len(ids)
        if handed >= 50 * CLAIM:  # leave the rest to the next run
            break
    return handed


# acks_late with reject-on-worker-lost: a batch whose worker dies goes back to the queue;
# its sent rows are recorded, so the rerun sends only what was left.
@shared_task(
    name="notifications.deliveries_send", soft_time_limit=240, time_limit=270,
    acks_late=True, reject_on_worker_lost=True, **_TRANSIENT,
)  # fmt: skip
def deliveries_send(ids: list[int]) -> dict:
    from .delivery import deliveries_send as send

    return send(ids=ids)

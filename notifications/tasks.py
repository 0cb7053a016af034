from celery import shared_task

from mysetlist.core.retries import TRANSIENT_DATABASE_ERRORS


@shared_task(name="notifications.deliveries_dispatch", soft_time_limit=60, time_limit=90)
def deliveries_dispatch() -> int:
    """Hand due deliveries to workers. Beat runs this every few seconds, so a lease that ran
    out (its worker died) is picked up again."""
    from .delivery import deliveries_dispatch as dispatch

    return dispatch(hand=deliveries_send.delay)


# acks_late with reject-on-worker-lost: a batch whose worker dies goes back to the queue;
# its sent rows are recorded, so the rerun sends only what was left.
@shared_task(
    name="notifications.deliveries_send", soft_time_limit=240, time_limit=270,
    acks_late=True, reject_on_worker_lost=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def deliveries_send(ids: list[int]) -> dict:
    from .delivery import deliveries_send as send

    return send(ids=ids)

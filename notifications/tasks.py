from celery import shared_task

from mysetlist.core.retries import TRANSIENT_DATABASE_ERRORS


@shared_task(name="notifications.deliveries_dispatch", soft_time_limit=60, time_limit=90)
def deliveries_dispatch() -> int:
    """Hand due deliveries to workers. Beat runs this every few seconds, so a lease that ran
    out (its worker died) is picked up again."""
    from notifications.delivery.outbox import deliveries_dispatch as dispatch

    return dispatch(hand=deliveries_send.delay)


# acks_late with reject-on-worker-lost: a batch whose worker dies goes back to the queue;
# its sent rows are recorded, so the rerun sends only what was left.
@shared_task(
    name="notifications.deliveries_send", soft_time_limit=240, time_limit=270,
    acks_late=True, reject_on_worker_lost=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def deliveries_send(ids: list[int]) -> dict:
    from notifications.delivery.outbox import deliveries_send as send

    return send(ids=ids)


@shared_task(
    name="notifications.trigger_fanout", soft_time_limit=540, time_limit=600,
    acks_late=True, reject_on_worker_lost=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def trigger_fanout(trigger_id: int) -> int:
    from notifications.sending.triggers import trigger_fanout as fanout

    return fanout(trigger_id=trigger_id)


@shared_task(name="notifications.triggers_redrive", soft_time_limit=50, time_limit=60)
def triggers_redrive() -> int:
    """Fan out again the triggers whose fan-out was lost or died."""
    from notifications.sending.triggers import triggers_redrive as redrive

    return redrive(hand=trigger_fanout.delay)


@shared_task(
    name="notifications.voting_closing_triggers", soft_time_limit=50, time_limit=60,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def voting_closing_triggers() -> int:
    from notifications.sending.triggers import voting_closing_triggers as record

    return record()


@shared_task(
    name="notifications.digests_send", soft_time_limit=240, time_limit=270,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def digests_send() -> int:
    from notifications.sending.digests import digests_send as send

    return send()


@shared_task(
    name="notifications.notification_send", soft_time_limit=540, time_limit=600,
    acks_late=True, reject_on_worker_lost=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def notification_send(
    category: str, key: str, context: dict, user_ids: list[int] | None, artist_id: int | None
) -> int:
    from notifications.sending.requests import notification_send as send

    return send(category=category, key=key, context=context, user_ids=user_ids, artist_id=artist_id)


# Idempotent: only pending events are applied, under a row lock; beat re-drives any left.
@shared_task(
    name="notifications.tracking_events_apply", soft_time_limit=50, time_limit=60,
    acks_late=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def tracking_events_apply(ids: list[int] | None = None) -> int:
    """Apply provider tracking events: those among `ids`, or any still pending."""
    from notifications.tracking.providers import tracking_events_apply as apply

    return apply(ids=ids)


# Idempotent: a pass replaces the rows of its range whole, under a lock.
@shared_task(
    name="notifications.deliveries_rollup", soft_time_limit=50, time_limit=60,
    acks_late=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def deliveries_rollup() -> int:
    """Re-roll the delivery rollups of the last minutes."""
    from notifications.metrics.rollups import deliveries_rollup as rollup

    return rollup()


@shared_task(
    name="notifications.deliveries_rollup_settle", soft_time_limit=1500, time_limit=1800,
    acks_late=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def deliveries_rollup_settle() -> int:
    """Re-roll the delivery rollups of the last two days, for what changes late."""
    from notifications.metrics.rollups import SETTLE
    from notifications.metrics.rollups import deliveries_rollup as rollup

    return rollup(settle=SETTLE)


@shared_task(
    name="notifications.rollups_prune", soft_time_limit=540, time_limit=600,
    acks_late=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def rollups_prune() -> int:
    """Delete delivery rollups past their retention."""
    from notifications.metrics.rollups import rollups_prune as prune

    return prune()


@shared_task(
    name="notifications.open_hours_refresh", soft_time_limit=540, time_limit=600,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def open_hours_refresh() -> int:
    """Hand every user whose open-hour profile may have changed to workers, in batches."""
    from notifications.timing.profiles import open_hours_refresh as refresh

    return refresh(hand=open_hours_refresh_batch.delay)


# Idempotent: a batch recomputes its users' profiles from the deliveries and replaces them.
@shared_task(
    name="notifications.open_hours_refresh_batch", soft_time_limit=240, time_limit=270,
    acks_late=True, reject_on_worker_lost=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def open_hours_refresh_batch(user_ids: list[int]) -> int:
    from notifications.timing.profiles import open_hours_refresh_batch as refresh

    return refresh(user_ids=user_ids)

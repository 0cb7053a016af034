from celery import shared_task


@shared_task(
    name="setlists.shows_lock_past_due",
    soft_time_limit=60,
    time_limit=90,
    acks_late=True,
)
def shows_lock_past_due() -> list[int]:
    from .services import shows_lock_past_due as lock

    return lock()

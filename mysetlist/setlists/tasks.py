from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    name="setlists.shows_lock_past_due",
    soft_time_limit=60,
    time_limit=90,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),  # the database away for a moment
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
)
def shows_lock_past_due() -> list[int]:
    from .services import shows_lock_past_due as lock

    return lock()

"""Celery retry options shared by tasks that only touch the database."""

from django.db import InterfaceError, OperationalError

# The database away for a moment: retried with backoff, then left to the next run.
TRANSIENT_DATABASE_ERRORS = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": 5,
}

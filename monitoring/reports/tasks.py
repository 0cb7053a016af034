from celery import shared_task

from mysetlist.core.retries import TRANSIENT_DATABASE_ERRORS


def _generate(kind: str) -> dict:
    from monitoring.reports.services import report_generate

    report, new = report_generate(kind=kind)
    return {"report": report.pk, "new": new}


# Each is idempotent per period: a rerun, or a second delivery, finds the stored report.
@shared_task(
    name="monitoring.report_daily", soft_time_limit=600, time_limit=660, acks_late=True,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def report_daily() -> dict:
    """Generate and send yesterday's daily summary."""
    return _generate("daily")


@shared_task(
    name="monitoring.report_weekly", soft_time_limit=600, time_limit=660, acks_late=True,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def report_weekly() -> dict:
    """Generate and send last week's cohorts and retention."""
    return _generate("weekly")


@shared_task(
    name="monitoring.report_monthly", soft_time_limit=900, time_limit=960, acks_late=True,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def report_monthly() -> dict:
    """Generate and send last month's review."""
    return _generate("monthly")


@shared_task(
    name="monitoring.report_notifications", soft_time_limit=600, time_limit=660,
    acks_late=True, **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def report_notifications() -> dict:
    """Generate and send last week's notification report."""
    return _generate("notifications")

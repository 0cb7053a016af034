from celery import shared_task

from mysetlist.core.retries import TRANSIENT_DATABASE_ERRORS


# Not acks_late: a run lost with its worker is made good by the next minute's, which also
# sends any message the lost one recorded but did not send.
@shared_task(
    name="monitoring.alerts_evaluate", soft_time_limit=50, time_limit=60,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def alerts_evaluate() -> dict:
    """Evaluate every enabled alert rule and send what changed."""
    from monitoring.services import alerts_evaluate as evaluate

    report = evaluate()
    return {
        "evaluated": report.evaluated,
        "skipped": report.skipped,
        "transitions": report.transitions,
        "messages": report.messages,
    }


from monitoring.exports.tasks import export_run, exports_prune  # noqa: E402, F401
from monitoring.reports.tasks import (  # noqa: E402, F401
    report_daily,
    report_monthly,
    report_notifications,
    report_weekly,
)

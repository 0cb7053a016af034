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
    # Dashboards follow the evaluation: the figures it read are the ones they show.
    dashboards_refresh.delay()
    return {
        "evaluated": report.evaluated,
        "skipped": report.skipped,
        "transitions": report.transitions,
        "messages": report.messages,
    }


@shared_task(
    name="monitoring.dashboards_refresh", soft_time_limit=50, time_limit=60, expires=90,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def dashboards_refresh() -> int:
    """Recompute the dashboards staff have open and broadcast them to their pages."""
    from monitoring.dashboards.services import dashboards_refresh as refresh

    return refresh()


@shared_task(
    name="monitoring.dashboard_refresh", soft_time_limit=110, time_limit=120, expires=120,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def dashboard_refresh(dashboard_id: int, range_key: str = "") -> bool:
    """Compute one dashboard's aged widgets (a page showed their last drawings) and send
    them to its open pages."""
    from monitoring.dashboards.services import dashboard_refresh as refresh

    return refresh(dashboard_id=dashboard_id, range_key=range_key)


@shared_task(
    name="monitoring.voting_scan", soft_time_limit=240, time_limit=300, acks_late=True,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def voting_scan() -> dict:
    """Look for unusual voting at every open show and record vote flags (idempotent)."""
    from monitoring.voting.services import voting_scan as scan

    report = scan()
    return {"shows": report.shows, "created": report.created, "updated": report.updated}


@shared_task(
    name="monitoring.request_hours_record", soft_time_limit=120, time_limit=150, acks_late=True,
    **TRANSIENT_DATABASE_ERRORS,
)  # fmt: skip
def request_hours_record() -> int:
    """Copy the live store's hourly requests and errors for the HTTP error rate's baseline."""
    from monitoring.anomalies.services import request_hours_record as record

    return record()


from monitoring.exports.tasks import export_run, exports_prune  # noqa: E402, F401
from monitoring.reports.tasks import (  # noqa: E402, F401
    report_daily,
    report_monthly,
    report_notifications,
    report_weekly,
)

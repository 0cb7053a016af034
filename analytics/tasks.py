from celery import shared_task

from mysetlist.core.retries import TRANSIENT_DATABASE_ERRORS as _TRANSIENT


@shared_task(
    name="analytics.event_partitions_ensure", soft_time_limit=300, time_limit=360,
    acks_late=True, **_TRANSIENT,
)  # fmt: skip
def event_partitions_ensure() -> list[str]:
    from django.conf import settings
    from django.utils import timezone

    from analytics.lifecycle.partitions import event_partitions_ensure as ensure

    return ensure(today=timezone.now().date(), months_ahead=settings.ANALYTICS_PARTITIONS_AHEAD)


@shared_task(
    name="analytics.retention_apply", soft_time_limit=1800, time_limit=1900,
    acks_late=True, **_TRANSIENT,
)  # fmt: skip
def retention_apply() -> list[int]:
    from django.utils import timezone

    from analytics.lifecycle.retention import retention_apply as apply

    return [result.rows for result in apply(now=timezone.now())]


def _rollups(granularity: str) -> int:
    from analytics.rollups.passes import rollups_process_due

    return rollups_process_due(granularity=granularity).buckets


# Not acks_late: a lost run is harmless, its batches and marks wait for the next one.
@shared_task(name="analytics.rollups_live", soft_time_limit=30, time_limit=40, **_TRANSIENT)
def rollups_live() -> int:
    from analytics.rollups.passes import rollups_live as live

    return live().buckets


@shared_task(
    name="analytics.rollups_process_minute", soft_time_limit=30, time_limit=40, **_TRANSIENT
)
def rollups_process_minute() -> int:
    return _rollups("minute")


@shared_task(
    name="analytics.rollups_process_hour", soft_time_limit=120, time_limit=150, **_TRANSIENT
)
def rollups_process_hour() -> int:
    return _rollups("hour")


@shared_task(
    name="analytics.rollups_process_day", soft_time_limit=600, time_limit=660, **_TRANSIENT
)
def rollups_process_day() -> int:
    return _rollups("day")


@shared_task(
    name="analytics.erasure_process", soft_time_limit=3600, time_limit=3700,
    acks_late=True, **_TRANSIENT,
)  # fmt: skip
def erasure_process(request_id: int) -> int:
    from analytics.lifecycle.erasure import erasure_process as process

    return process(request_id=request_id).events_deleted


@shared_task(name="analytics.erasures_redrive", soft_time_limit=60, time_limit=90, **_TRANSIENT)
def erasures_redrive() -> list[int]:
    from analytics.lifecycle.erasure import erasures_redrive as redrive

    return redrive()

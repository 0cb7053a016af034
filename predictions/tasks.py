from celery import shared_task


@shared_task(
    name="predictions.predictions_refresh", soft_time_limit=240, time_limit=300, acks_late=True
)
def predictions_refresh() -> list[int]:
    from .services import predictions_refresh

    return predictions_refresh()


@shared_task(
    name="predictions.predictions_score_pending",
    soft_time_limit=240,
    time_limit=300,
    acks_late=True,
)
def predictions_score_pending() -> list[int]:
    from .services import predictions_score_pending

    return predictions_score_pending()


@shared_task(
    name="predictions.engagement_refresh", soft_time_limit=600, time_limit=660, acks_late=True
)
def engagement_refresh() -> int:
    from .services import engagement_refresh

    return engagement_refresh().pk

from celery import shared_task


@shared_task(
    name="experiments.results_refresh_running",
    soft_time_limit=60,
    time_limit=90,
    acks_late=True,
)
def results_refresh_running() -> list[str]:
    """Enqueue a refresh of each running experiment's results: one task per experiment, so
    a large one neither delays nor fails the others."""
    from .results.selectors import experiment_running_keys

    keys = experiment_running_keys()
    for key in keys:
        results_refresh.delay(key)
    return keys


@shared_task(
    name="experiments.results_refresh",
    soft_time_limit=600,
    time_limit=660,
    acks_late=True,
)
def results_refresh(key: str) -> int:
    from .results.selectors import experiment_for_results
    from .results.services import results_refresh

    experiment = experiment_for_results(key=key)
    if experiment is None:  # deleted since it was enqueued
        return 0
    return len(results_refresh(experiment=experiment))

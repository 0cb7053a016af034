from celery import shared_task


# Not retried: a run that fails ends its job failed with the reason, and the requester starts
# another; a job is run once (a second delivery finds it running or over and leaves it).
@shared_task(name="monitoring.export_run", soft_time_limit=900, time_limit=960)
def export_run(job_id: int) -> str:
    """Write one queued export's file."""
    from monitoring.exports.services import export_job_run

    return export_job_run(job_id=job_id).status


@shared_task(name="monitoring.exports_prune", soft_time_limit=300, time_limit=360)
def exports_prune() -> int:
    """Delete exports finished over a week ago, with their files."""
    from monitoring.exports.services import export_jobs_prune

    return export_jobs_prune()

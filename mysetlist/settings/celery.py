"""Celery: Redis as broker when REDIS_URL is set, a broker that needs no server otherwise."""

from .env import BASE_DIR, env

_redis_url = env("REDIS_URL", default="")
_queue_dir = BASE_DIR / "var" / "celery-queue"

if _redis_url:
    CELERY_BROKER_URL = _redis_url
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # Kombu's filesystem transport: the web process, the worker and beat share a folder.
    for _folder in ("processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# The live pass of the rollups, which ingestion lag (accepted to counted) waits on, has a
# queue of its own, for a worker of its own: behind the exact passes, seconds long each
# under load, its task would wait until it expired. The exact passes have one too, for a
# worker of one process: one at a time, a core at most, and never ahead of other jobs.
CELERY_TASK_DEFAULT_QUEUE = "celery"
LIVE_QUEUE = "live"
ROLLUPS_QUEUE = "rollups"
CELERY_TASK_ROUTES = {
    "analytics.rollups_live": {"queue": LIVE_QUEUE},
    **{
        f"analytics.rollups_process_{granularity}": {"queue": ROLLUPS_QUEUE}
        for granularity in ("minute", "hour", "day")
    },
}

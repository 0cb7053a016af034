"""The test suite: fast hashing, local email outbox, generous throttles unless a test lowers."""

import os

from .base import *  # noqa: F403
from .base import (
    ANYMAIL,
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_BROKER_URL,
    CHANNEL_LAYERS,
    DATABASES,
    REST_FRAMEWORK,
)
from .env import BASE_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Provider webhooks in tests: basic auth, and Resend's svix signature (a "whsec_" secret is
# base64), so tests post and sign as the providers do.
ANYMAIL = {
    **ANYMAIL,
    "WEBHOOK_SECRET": "anymail:test-webhook-secret",
    "RESEND_SIGNING_SECRET": "whsec_dGVzdC1yZXNlbmQtc2lnbmluZy1zZWNyZXQ=",
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# The push tests run a push service on 127.0.0.1 over http.
PUSH_ALLOW_LOCAL_ENDPOINTS = True

# Connections close after each use, so no thread of a test keeps the test database open.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the live server of the browser test (another process) shares it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "10000/min",
        "user": "10000/min",
        "votes": "10000/min",
        "auth": "10000/min",
        "ingest": "10000/min",
        "push_subscribe": "10000/min",
        "notifications_send": "10000/min",
    },
}

WHITENOISE_USE_FINDERS = True
LOGIN_RATE = "10000/m"

# Parallel test workers share one Redis: each gets its own key space, so the workers' shows
# (which have the same ids in their own databases) never hear each other's groups.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
if CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis."):
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"mysetlist-test-{_worker}"
else:
    # Tests hold their websockets in their own process: nothing is relayed to a web server
    # (a developer's `make run` included).
    CHANNEL_LAYERS["default"]["CONFIG"]["socket"] = ""
CACHES["default"]["KEY_PREFIX"] = f"mysetlist-test-{_worker}"
LIVE_CHANNEL_PREFIX = f"mysetlist-test-{_worker}:live"
LIVE_PRESENCE_SECONDS = 0.2
SERVER_GC_THRESHOLDS = None  # tests import the entry points: leave pytest's collector alone
MONITORING_KEY_PREFIX = f"mysetlist-test-{_worker}:monitoring"

# Tasks run in the test's own process; tests of the real worker switch this off.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# Each test worker has its own Celery queue (and folder, without Redis): a task sent by one
# worker must run against that worker's database.
CELERY_TASK_DEFAULT_QUEUE = f"mysetlist-test-{_worker}"
CELERY_TASK_ROUTES = {}  # the live queue too: every task on the test worker's own queue
if CELERY_BROKER_URL == "filesystem://":
    _queue = BASE_DIR / "var" / f"test-celery-queue-{_worker}"
    for _folder in ("processed", "control"):
        (_queue / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_queue / "processed"),
        "control_folder": str(_queue / "control"),
    }

"""The test settings for a Celery worker the tests start in its own process: the test's
database (DATABASE_URL names it) and a real SMTP server (WORKER_SMTP_PORT) on this machine."""

import os

from mysetlist.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["WORKER_SMTP_PORT"])
EMAIL_USE_TLS = False
EMAIL_HOST_USER = EMAIL_HOST_PASSWORD = ""
CELERY_TASK_ALWAYS_EAGER = False

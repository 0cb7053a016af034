"""Production: secrets are required, transport is HTTPS only."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, STORAGES
from .env import env, env_bool, env_int

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
if not env("DATABASE_URL", default=""):
    raise ImproperlyConfigured("Set DATABASE_URL: production runs on PostgreSQL.")
if not env("REDIS_URL", default=""):
    raise ImproperlyConfigured("Set REDIS_URL: production needs Redis for channels and Celery.")
if env("EMAIL_PROVIDER", default="console") == "console":
    raise ImproperlyConfigured(
        "Set EMAIL_PROVIDER (resend or amazon_ses): production must not just print emails."
    )

# Web push goes only to https endpoints on public addresses, whatever the environment says.
PUSH_ALLOW_LOCAL_ENDPOINTS = False

# Behind one reverse proxy by default (it sets X-Forwarded-For and X-Forwarded-Proto).
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": env_int("DRF_NUM_PROXIES", default=1)}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
ANALYTICS_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

"""Settings shared by every environment; the environment files only override."""

import importlib.util
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import BASE_DIR, env, env_bool, env_int

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-only-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "anymail",
    "mysetlist.core",
    "mysetlist.users",
    "mysetlist.setlists",
    "analytics",
    "notifications",
    "experiments",
    "predictions",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Counts and times every request below: static files above it are not counted.
    "monitoring.middleware.RequestMetricsMiddleware",
    "mysetlist.core.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mysetlist.core.middleware.ApplicationErrorMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "analytics.middleware.PageViewMiddleware",
]

ROOT_URLCONF = "mysetlist.urls"
WSGI_APPLICATION = "mysetlist.wsgi.application"
ASGI_APPLICATION = "mysetlist.asgi.application"
# The servers' garbage collector (see mysetlist.core.heap): start-up's objects frozen, and
# these thresholds (CPython's default is 700, 10, 10). None leaves it alone.
SERVER_GC_THRESHOLDS = (20_000, 20, 10)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "analytics.context_processors.tracker",
            ],
        },
    },
]

# PostgreSQL (psycopg 3) when DATABASE_URL is set; an embedded SQLite file otherwise.
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    # A connection per request by default. The web server's command line sets
    # DATABASE_CONN_MAX_AGE (not .env, which every process reads): its threads keep a
    # connection each, and Django closes one that old at the start and end of a request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    _startup = []
    # Metric queries run for tens of milliseconds; compiling them with JIT costs more.
    if env_bool("DATABASE_JIT_OFF", True):
        _startup.append("-c jit=off")
    # A server that retires idle threads (granian does) leaves their connections open, so
    # PostgreSQL closes a session idle for longer than CONN_MAX_AGE: by then, a live thread's
    # connection is old enough for Django to replace it before the request uses it.
    _max_age = DATABASES["default"]["CONN_MAX_AGE"]
    _idle_timeout = env_int("DATABASE_IDLE_SESSION_TIMEOUT", default=2 * _max_age)
    if 0 < _idle_timeout <= _max_age:
        raise ImproperlyConfigured(
            f"DATABASE_IDLE_SESSION_TIMEOUT ({_idle_timeout}) must be more than "
            f"DATABASE_CONN_MAX_AGE ({_max_age}), or 0: a request would use a closed connection."
        )
    if _idle_timeout:
        _startup.append(f"-c idle_session_timeout={_idle_timeout}s")
    # Sent as startup options, which PgBouncer refuses unless told to ignore them:
    # DATABASE_STARTUP_OPTIONS=false sends none.
    if _startup and env_bool("DATABASE_STARTUP_OPTIONS", True):
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(_startup)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default="") or str(BASE_DIR / "var" / "db.sqlite3"),
            # WAL and immediate transactions let the web process, the Celery worker and
            # beat share one file without "database is locked" errors.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mysetlist",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "setlists:artist-list"
LOGOUT_REDIRECT_URL = "setlists:artist-list"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# plotly.js comes inside the plotly package: served from there as static/plotly/, no CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("plotly", Path(importlib.util.find_spec("plotly").origin).parent / "package_data"),
]
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles"))
# Files the site writes (exports run in the background), in the default storage.
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The email provider (EMAIL_PROVIDER) and its credentials: see email.py.
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="MySetlist <noreply@localhost>")
# Absolute links in emails and pushes (unsubscribe, preferences, shows).
SITE_URL = env("SITE_URL", default="") or "http://localhost:8000"
# Hosts besides SITE_URL's a notification may link to (its context's url), e.g. a ticket shop.
NOTIFICATION_LINK_HOSTS = env.list("NOTIFICATION_LINK_HOSTS", default=[])
# Web push (VAPID): push is offered only when both keys are set; `manage.py vapid_keys`
# prints a fresh pair. The subject is how a push service reaches whoever runs the site.
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env("VAPID_SUBJECT", default="mailto:admin@localhost")
# Push endpoints must be https on public addresses; this also takes a push service on this
# machine (loopback, http too): for development and tests, never production.
PUSH_ALLOW_LOCAL_ENDPOINTS = env_bool("PUSH_ALLOW_LOCAL_ENDPOINTS", False)
# When a non-urgent notification goes when no experiment's variant says: "open_hours" (at
# the recipient's next likely open hour, within 12 hours) or "immediate".
NOTIFICATIONS_DELIVERY_TIMING = env("NOTIFICATIONS_DELIVERY_TIMING", default="open_hours")
if NOTIFICATIONS_DELIVERY_TIMING not in ("open_hours", "immediate"):
    raise ImproperlyConfigured("NOTIFICATIONS_DELIVERY_TIMING is open_hours or immediate.")

# Log-in, sign-up and admin log-in forms: attempts per client address (django-ratelimit).
LOGIN_RATE = env("LOGIN_RATE", default="10/m")
RATELIMIT_VIEW = "mysetlist.core.views.rate_limited"
RATELIMIT_IP_META_KEY = "mysetlist.core.clients.client_ip"

# Tiered cache (mysetlist/core/tiered_cache.py): how often a process checks the versions of
# what it keeps (seconds: the longest another process's change goes unseen), and how many
# entries it keeps.
TIERED_CACHE_CHECK_SECONDS = env.float("TIERED_CACHE_CHECK_SECONDS", default=1.0)
TIERED_CACHE_LOCAL_MAX_ENTRIES = env.int("TIERED_CACHE_LOCAL_MAX_ENTRIES", default=2000)

# Experiments: the request header a trusted proxy puts the visitor's country in
# (Cloudflare's by default).
EXPERIMENTS_COUNTRY_HEADER = "HTTP_" + env(
    "EXPERIMENTS_COUNTRY_HEADER", default="CF-IPCountry"
).upper().replace("-", "_")

# Analytics: cookies of the anonymous id and of the visitor's consent ("denied" turns
# tracking off), how long raw events and message ids are kept.
ANALYTICS_DISTINCT_ID_COOKIE = "mysetlist_did"
ANALYTICS_CONSENT_COOKIE = "mysetlist_consent"
# Whether the anonymous id's cookie is sent over HTTPS only, as SESSION_COOKIE_SECURE (True
# in production); a request that came over HTTPS gets a Secure cookie either way.
ANALYTICS_COOKIE_SECURE = False
ANALYTICS_RAW_RETENTION_DAYS = env.int("ANALYTICS_RAW_RETENTION_DAYS", default=730)
ANALYTICS_DEDUPE_DAYS = env.int("ANALYTICS_DEDUPE_DAYS", default=35)
ANALYTICS_PARTITIONS_AHEAD = env.int("ANALYTICS_PARTITIONS_AHEAD", default=3)
# Aggregates outlive raw events; 0 keeps a table for good. Platform metrics are always kept.
ANALYTICS_AGGREGATE_RETENTION_DAYS = {
    "rollups_minute": env.int("ANALYTICS_RETENTION_ROLLUPS_MINUTE_DAYS", default=35),
    "rollups_hour": env.int("ANALYTICS_RETENTION_ROLLUPS_HOUR_DAYS", default=1100),
    "rollups_day": env.int("ANALYTICS_RETENTION_ROLLUPS_DAY_DAYS", default=0),
    # Cut from raw events, the timeline goes with them (so erasure always finds its events).
    "timeline": ANALYTICS_RAW_RETENTION_DAYS,
    "daily_user_stats": env.int("ANALYTICS_RETENTION_DAILY_USER_STATS_DAYS", default=1100),
    "session_days": env.int("ANALYTICS_RETENTION_SESSION_DAYS", default=1100),
    "page_move_days": env.int("ANALYTICS_RETENTION_PAGE_MOVE_DAYS", default=1100),
    "person_activity": env.int("ANALYTICS_RETENTION_PERSON_ACTIVITY_DAYS", default=1100),
    "persons": env.int("ANALYTICS_RETENTION_PERSONS_DAYS", default=1100),
    "rollup_runs": env.int("ANALYTICS_RETENTION_ROLLUP_RUNS_DAYS", default=30),
}
# Events arriving later than this after they happened are stored but change no rollup.
ANALYTICS_ROLLUP_LATENESS_HOURS = env.int("ANALYTICS_ROLLUP_LATENESS_HOURS", default=168)
# After each run, the exact pass of a granularity rests this many times as long as it took:
# at most 1 / (1 + rest) of a core each, under load (see analytics.rollups.passes.exact_pass_due).
ANALYTICS_EXACT_PASS_REST = env.float("ANALYTICS_EXACT_PASS_REST", default=3.0)
# PostgreSQL workers an exact pass's query may add to its own: none, so a background
# recomputation takes one core, not every core at once.
ANALYTICS_EXACT_PASS_PARALLEL_WORKERS = env.int("ANALYTICS_EXACT_PASS_PARALLEL_WORKERS", default=0)

# Monitoring: who may read /api/metrics besides staff (Prometheus sends
# `Authorization: Bearer <METRICS_TOKEN>`; empty: staff only). Live figures every process
# shares are kept in Redis by minute, for MONITORING_MINUTES_TTL seconds. Prometheus's own
# samples are shared through PROMETHEUS_MULTIPROC_DIR, which prometheus_client reads from the
# environment (.env included: it is read before).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
MONITORING_KEY_PREFIX = env("MONITORING_KEY_PREFIX", default="mysetlist:monitoring")
MONITORING_MINUTES_TTL = env_int("MONITORING_MINUTES_TTL", default=26 * 3600)
MONITORING_HEARTBEAT_SECONDS = env.float("MONITORING_HEARTBEAT_SECONDS", default=15.0)
# /api/health reports (without failing) queues deeper and ingestion lag longer than these.
MONITORING_QUEUE_MAX = env_int("MONITORING_QUEUE_MAX", default=1000)
MONITORING_INGESTION_LAG_MAX_MS = env_int("MONITORING_INGESTION_LAG_MAX_MS", default=10_000)

MYSETLIST_VERSION = "0.1.0"

from .celery import *  # noqa: E402,F403
from .channels import *  # noqa: E402,F403
from .drf import *  # noqa: E402,F403
from .email import *  # noqa: E402,F403
from .logging import *  # noqa: E402,F403

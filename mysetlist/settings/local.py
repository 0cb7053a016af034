"""A developer's machine: debug on, everything embedded unless the environment says otherwise."""

from .base import *  # noqa: F403
from .env import env, env_bool, env_int

DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Links in notifications go where `make run` serves: it passes its PORT on as WEB_PORT, as
# honcho gives each process a PORT of its own (the worker, which renders them, 8100).
SITE_URL = env("SITE_URL", default="") or f"http://127.0.0.1:{env_int('WEB_PORT', default=8000)}"
PUSH_ALLOW_LOCAL_ENDPOINTS = env_bool("PUSH_ALLOW_LOCAL_ENDPOINTS", True)

"""Readiness checks of the services the platform runs on; each returns an error or None."""

import logging
import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def check_database() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def check_cache() -> str | None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    return None if value == "ok" else "cache did not return what was stored"


def check_channel_layer() -> str | None:
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"

    async def round_trip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        return await layer.receive(channel)

    message = async_to_sync(round_trip)()
    return None if message.get("type") == "health.ping" else "channel layer lost a message"


def check_broker() -> str | None:
    from mysetlist.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return None


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


def app_checks() -> dict[str, tuple]:
    """Return the checks apps offer: an app's config names, in `health_checks` (a dotted
    path), a function returning {name: (check, critical)}; a check that is not critical is
    reported without failing the whole."""
    checks: dict[str, tuple] = {}
    for config in apps.get_app_configs():
        path = getattr(config, "health_checks", None)
        if path:
            checks.update(import_string(path)())
    return checks


def health_check() -> dict:
    """Run every check; return each one's status and time, and the overall status, which
    only the critical checks decide."""
    results = {}
    every = {name: (check, True) for name, check in CHECKS.items()} | app_checks()
    for name, (check, critical) in every.items():
        started = time.perf_counter()
        try:
            error = check()
        except Exception as exc:  # a check that raises is a failed check, not a 500
            logger.warning("health check %s failed", name, exc_info=True)
            error = type(exc).__name__  # details stay in the log, not on a public page
        results[name] = {
            "ok": error is None,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            **({"error": error} if error else {}),
            **({} if critical else {"critical": False}),
        }
    ok = all(result["ok"] for result in results.values() if result.get("critical", True))
    return {"ok": ok, "checks": results}

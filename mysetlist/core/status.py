"""Counts and live figures for /api/status, gathered from the apps that offer some: an app's
config names a selector in `status_counts` or `status_live` (a dotted path), so the plumbing
imports no app."""

from django.apps import apps
from django.utils.module_loading import import_string


def status_counts() -> dict[str, int]:
    """Return every app's status counts, in the order of INSTALLED_APPS."""
    counts: dict[str, int] = {}
    for config in apps.get_app_configs():
        path = getattr(config, "status_counts", None)
        if path:
            counts.update(import_string(path)())
    return counts


def status_live() -> dict[str, float | None]:
    """Return every app's live figures (monitoring's, over the last five minutes)."""
    figures: dict[str, float | None] = {}
    for config in apps.get_app_configs():
        path = getattr(config, "status_live", None)
        if path:
            figures.update(import_string(path)())
    return figures

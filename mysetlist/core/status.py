"""Counts for /api/status, gathered from the apps that offer some: an app's config names a
selector in `status_counts` (a dotted path), so the plumbing imports no app."""

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

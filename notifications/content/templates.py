"""Notification templates: each save is a new version, the old ones kept."""

from django.conf import settings
from django.db import transaction

from notifications.models import NotificationTemplate


@transaction.atomic
def template_save_version(*, template: NotificationTemplate) -> NotificationTemplate:
    """Store `template` as the next version of its category, locale and variant, leaving every
    earlier version as it was; return the new version."""
    # Lock the versions of this category and locale so two editors get distinct numbers.
    versions = NotificationTemplate.objects.select_for_update().filter(
        category=template.category, locale=template.locale, variant=template.variant
    )
    latest = max(versions.values_list("version", flat=True), default=0)
    template.pk = None
    template._state.adding = True
    template.version = latest + 1
    template.full_clean()
    template.save()
    return template


def sample_context(category: str) -> dict:
    """Return made-up data to preview a category's template with."""
    site = settings.SITE_URL.rstrip("/")
    return {
        "artist": "The Example Band",
        "show": "The Example Band, 2026-12-01 at Example Hall",
        "venue": "Example Hall, Chicago",
        "date": "December 1, 2026",
        "show_id": 1,
        "url": f"{site}/shows/1/",
        "user": "fan",
        "preferences_url": f"{site}/notifications/preferences/",
        "unsubscribe_url": f"{site}/notifications/unsubscribe/sample/",
        "items": ["The Example Band announced a show.", "The setlist of a show is posted."],
        "summary": "1 alert firing: error rate (critical)",
        "alerts": ["Error rate > 5: 7.2 % since 12:03 UTC"],
        "severity": "critical",
    }

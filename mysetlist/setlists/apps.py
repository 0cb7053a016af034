from django.apps import AppConfig


class SetlistsConfig(AppConfig):
    name = "mysetlist.setlists"
    label = "setlists"
    status_counts = "mysetlist.setlists.selectors.platform_counts"  # for /api/status

    def ready(self):
        from . import signals  # noqa: F401

from django.apps import AppConfig


class SetlistsConfig(AppConfig):
    name = "mysetlist.setlists"
    label = "setlists"

    def ready(self):
        from . import signals  # noqa: F401

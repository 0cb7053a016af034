from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mysetlist.core"
    label = "core"

    def ready(self):
        from django.urls import register_converter

        from .ids import IdConverter

        # Here rather than in urls.py: websocket routing builds its patterns first.
        register_converter(IdConverter, "id")

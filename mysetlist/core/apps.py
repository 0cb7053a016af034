from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mysetlist.core"
    label = "core"

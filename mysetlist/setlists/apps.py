from django.apps import AppConfig


class SetlistsConfig(AppConfig):
    name = "mysetlist.setlists"
    label = "setlists"

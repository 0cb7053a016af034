from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "mysetlist.users"
    label = "users"

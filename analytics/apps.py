from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self):
        from analytics import signals  # noqa: F401
        from analytics.rollups.timeline import sqlite_functions_register

        connection_created.connect(sqlite_functions_register, dispatch_uid="analytics-sqlite")

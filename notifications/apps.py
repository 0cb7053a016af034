from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from anymail.signals import tracking

        from . import signals  # noqa: F401 - connects the receivers of domain events
        from .tracking import tracking_event_receive

        tracking.connect(
            tracking_event_receive, dispatch_uid="notifications.tracking_event_receive"
        )

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from anymail.signals import tracking

        from notifications.tracking.providers import tracking_event_receive

        tracking.connect(
            tracking_event_receive, dispatch_uid="notifications.tracking_event_receive"
        )

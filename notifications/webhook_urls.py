"""The configured email provider's tracking webhook, named as anymail names it."""

from notifications.tracking.webhooks import webhook_urlpatterns

app_name = "anymail"

urlpatterns = webhook_urlpatterns()

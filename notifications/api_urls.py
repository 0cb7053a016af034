from django.urls import path

from notifications import apis
from notifications.metrics import apis as metric_apis

app_name = "notifications-api"

# send, preferences and subscribe are named without a trailing slash, as the API was
# announced; a POST cannot follow Django's append-slash redirect.
urlpatterns = [
    path("", apis.InboxListApi.as_view(), name="inbox-list"),
    path("unread-count/", apis.InboxCountApi.as_view(), name="inbox-count"),
    path("read-all/", apis.NotificationReadAllApi.as_view(), name="notification-read-all"),
    path(
        "<id:notification_id>/read/", apis.NotificationReadApi.as_view(), name="notification-read"
    ),
    path(
        "<id:notification_id>/dismiss/",
        apis.NotificationDismissApi.as_view(),
        name="notification-dismiss",
    ),
    path("preferences", apis.PreferenceApi.as_view(), name="preferences"),
    path("subscribe", apis.PushSubscribeApi.as_view(), name="subscribe"),
    path("send", apis.NotificationSendApi.as_view(), name="send"),
    path("metrics/", metric_apis.NotificationMetricsApi.as_view(), name="metrics"),
]

from django.urls import path

from monitoring import apis

app_name = "monitoring-api"

urlpatterns = [
    path("metrics", apis.MetricsApi.as_view(), name="metrics"),
]

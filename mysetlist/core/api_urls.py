from django.urls import path

from . import apis

app_name = "core-api"

urlpatterns = [
    path("health", apis.HealthApi.as_view(), name="health"),
    path("status", apis.StatusApi.as_view(), name="status"),
]

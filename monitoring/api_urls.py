from django.urls import include, path

app_name = "monitoring-api"

urlpatterns = [
    path("", include("monitoring.instrumentation.api_urls")),
    path("alerts/", include("monitoring.alerting.api_urls")),
]

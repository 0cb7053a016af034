from django.urls import path

from monitoring import apis
from monitoring.dashboards import apis as dashboard_apis

app_name = "monitoring-api"

urlpatterns = [
    path("metrics", apis.MetricsApi.as_view(), name="metrics"),
    path(
        "monitoring/dashboards/<slug:slug>",
        dashboard_apis.DashboardDetailApi.as_view(),
        name="dashboard-detail",
    ),
    path(
        "monitoring/dashboards/<slug:slug>/export",
        dashboard_apis.DashboardExportApi.as_view(),
        name="dashboard-export",
    ),
]

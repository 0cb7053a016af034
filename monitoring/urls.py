from django.urls import path

from monitoring import views
from monitoring.dashboards import views as dashboard_views

app_name = "monitoring"

urlpatterns = [
    path("alerts/ack/<str:token>/", views.alerts_acknowledge, name="alerts-acknowledge"),
    path("dashboards/", dashboard_views.dashboard_list, name="dashboard-list"),
    path("dashboards/<slug:slug>/", dashboard_views.dashboard_detail, name="dashboard-detail"),
    path("caches/", views.caches, name="caches"),
]

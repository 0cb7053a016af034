from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("alerts/ack/<str:token>/", views.alerts_acknowledge, name="alerts-acknowledge"),
    path("caches/", views.caches, name="caches"),
]

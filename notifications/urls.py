from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("preferences/", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("c/<str:token>/", views.click, name="click"),
]

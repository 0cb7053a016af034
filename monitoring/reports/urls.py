from django.urls import path

from monitoring.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("subscriptions/", views.subscriptions_update, name="subscriptions"),
    path("<int:report_id>/", views.report_detail, name="detail"),
    path("<int:report_id>/export/<str:format>/", views.report_export, name="export"),
]

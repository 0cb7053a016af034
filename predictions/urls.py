from django.urls import path

from . import views

app_name = "predictions"

urlpatterns = [
    path("staff/", views.staff_page, name="staff"),
]

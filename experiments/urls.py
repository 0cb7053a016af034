from django.urls import path

from . import views

app_name = "experiments"

urlpatterns = [
    path("<slug:key>/results", views.results_page, name="experiment-results"),
    path("<slug:key>/results/refresh", views.results_refresh, name="experiment-results-refresh"),
]

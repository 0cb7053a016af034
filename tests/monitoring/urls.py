"""The site's URLs with alerting's page and staff API mounted, as the project will mount them."""

from django.urls import include, path

from mysetlist.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    *site_urlpatterns,
    path("monitoring/", include("monitoring.urls")),
    path("api/alerts/", include("monitoring.alerting.api_urls")),
]

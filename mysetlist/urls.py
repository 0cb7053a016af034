from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser

from experiments.api_urls import content_urlpatterns as content_urls
from mysetlist.core.parsers import JSONParser
from mysetlist.core.throttling import ScopedRateThrottle


class TokenObtainApi(ObtainAuthToken):
    parser_classes = [FormParser, MultiPartParser, JSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


api_urlpatterns = [
    path("", include("mysetlist.core.api_urls")),
    path("", include("mysetlist.setlists.api_urls")),
    path("analytics/", include("analytics.api_urls")),
    path("notifications/", include("notifications.api_urls")),
    path("predictions/", include("predictions.api_urls")),
    path("experiments/", include("experiments.api_urls")),
    path("alerts/", include("monitoring.alerting.api_urls")),
    path("", include("monitoring.api_urls")),
    path("monitoring/exports/", include("monitoring.exports.api_urls")),
    path("content/", include((content_urls, "content-api"))),
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("admin/login/", include("mysetlist.users.admin_urls")),  # ahead of the admin's own
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path("accounts/", include("mysetlist.users.urls")),
    path("notifications/", include("notifications.urls")),
    path("predictions/", include("predictions.urls")),
    path("experiments/", include("experiments.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("monitoring/reports/", include("monitoring.reports.urls")),
    path("anymail/", include("notifications.webhook_urls")),  # the EMAIL_PROVIDER's only
    path("", include("mysetlist.setlists.urls")),
]

handler400 = "mysetlist.core.views.bad_request"
handler403 = "mysetlist.core.views.permission_denied"
handler404 = "mysetlist.core.views.page_not_found"
handler500 = "mysetlist.core.views.server_error"

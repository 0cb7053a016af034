from django.urls import path

from monitoring.alerting import apis

app_name = "alerting-api"

urlpatterns = [
    path("rules/", apis.RuleListApi.as_view(), name="rule-list"),
    path("rules/<int:rule_id>/", apis.RuleDetailApi.as_view(), name="rule-detail"),
    path("silences/", apis.SilenceListApi.as_view(), name="silence-list"),
    path("silences/<int:silence_id>/end", apis.SilenceEndApi.as_view(), name="silence-end"),
    path("alerts/", apis.AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:alert_id>/", apis.AlertDetailApi.as_view(), name="alert-detail"),
    path(
        "alerts/<int:alert_id>/acknowledge",
        apis.AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
]

from django.urls import path

from . import apis

app_name = "experiments-api"

urlpatterns = [
    path("", apis.ExperimentListApi.as_view(), name="experiment-list"),
    path("assignments", apis.AssignmentsApi.as_view(), name="assignment-list"),
    path("analyse", apis.AnalyseApi.as_view(), name="analyse"),
    path("<slug:key>", apis.ExperimentDetailApi.as_view(), name="experiment-detail"),
    path("<slug:key>/start", apis.ExperimentStartApi.as_view(), name="experiment-start"),
    path("<slug:key>/stop", apis.ExperimentStopApi.as_view(), name="experiment-stop"),
    path("<slug:key>/conclude", apis.ExperimentConcludeApi.as_view(), name="experiment-conclude"),
    path("<slug:key>/kill", apis.ExperimentKillApi.as_view(), name="experiment-kill"),
    path("<slug:key>/force", apis.ExperimentForceApi.as_view(), name="experiment-force"),
]

# Served at /api/content/<placement>: what fans' pages ask, beside the staff endpoints.
content_urlpatterns = [
    path("<slug:placement>", apis.ContentApi.as_view(), name="content-detail"),
]

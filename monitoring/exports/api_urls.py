from django.urls import path

from monitoring.exports import apis

app_name = "exports-api"

urlpatterns = [
    path("metric", apis.ExportMetricApi.as_view(), name="metric"),
    path("", apis.ExportJobCreateApi.as_view(), name="job-create"),
    path("<int:job_id>", apis.ExportJobDetailApi.as_view(), name="job-detail"),
    path("<int:job_id>/download", apis.ExportJobDownloadApi.as_view(), name="job-download"),
]

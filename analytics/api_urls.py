from django.urls import path

from . import apis

app_name = "analytics-api"

urlpatterns = [
    path("events", apis.EventIngestApi.as_view(), name="event-ingest"),
    path("events/mine/", apis.MyEventListApi.as_view(), name="my-event-list"),
]

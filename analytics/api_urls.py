from django.urls import path

from analytics.ingest import apis
from analytics.metrics import apis as metric_apis
from analytics.metrics import live_apis as engagement_apis

app_name = "analytics-api"

urlpatterns = [
    path("events", apis.EventIngestApi.as_view(), name="event-ingest"),
    path("events/mine/", apis.MyEventListApi.as_view(), name="my-event-list"),
    path("trends/", metric_apis.TrendsApi.as_view(), name="trends"),
    path("active-users/", metric_apis.ActiveUsersApi.as_view(), name="active-users"),
    path("ingestion-lag/", metric_apis.IngestionLagApi.as_view(), name="ingestion-lag"),
    path("funnels/", metric_apis.FunnelApi.as_view(), name="funnels"),
    path("retention/", metric_apis.RetentionApi.as_view(), name="retention"),
    path("sessions/", engagement_apis.SessionsApi.as_view(), name="sessions"),
    path("paths/", engagement_apis.PathsApi.as_view(), name="paths"),
    path("web-vitals/", engagement_apis.WebVitalsApi.as_view(), name="web-vitals"),
    path("trending/", engagement_apis.TrendingApi.as_view(), name="trending"),
    path(
        "shows/<id:show_id>/voting/",
        engagement_apis.VotingPatternsApi.as_view(),
        name="voting-patterns",
    ),
]

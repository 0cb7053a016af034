"""What the project's wiring and other apps may use of analytics besides its services and
selectors: the WSGI entry to event capture, a page's word on what it shows, and whether a
request may be tracked at all (a bot, Do-Not-Track, a refused consent), and the metric
queries dashboards and reports chart (trends, people, funnels, sessions, paths, trending)."""

from analytics.ingest.capture import CaptureDispatcher
from analytics.ingest.validation import is_bot
from analytics.metrics.engagement import (
    ENGAGEMENT_MAX_DAYS,
    paths,
    paths_by_day,
    session_summary,
    sessions_by_day,
)
from analytics.metrics.funnels import funnel, funnel_first_time
from analytics.metrics.live import trending
from analytics.metrics.people import active_users, retention
from analytics.metrics.trends import trend
from analytics.middleware import page_about, tracking_allowed

__all__ = [
    "ENGAGEMENT_MAX_DAYS",
    "CaptureDispatcher",
    "active_users",
    "funnel",
    "funnel_first_time",
    "is_bot",
    "page_about",
    "paths",
    "paths_by_day",
    "retention",
    "session_summary",
    "sessions_by_day",
    "tracking_allowed",
    "trend",
    "trending",
]

"""Product metrics, read from rollups and daily user stats (raw events only where a metric
needs what rollups do not keep, over bounded ranges). Each function's docstring is the
metric's definition; the API shows the same words."""

from analytics.metrics.engagement import VITALS, paths, session_summary, web_vitals
from analytics.metrics.funnels import funnel, funnel_first_time
from analytics.metrics.live import (
    TRENDING_KINDS,
    TRENDING_WEIGHTS,
    VOTING_INTERVALS,
    Lag,
    ingestion_lag,
    trending,
    voting_patterns,
)
from analytics.metrics.people import ActiveUsers, active_users, retention
from analytics.metrics.trends import MAX_POINTS, RAW_BREAKDOWN_MAX_DAYS, Series, trend

__all__ = [
    "MAX_POINTS",
    "RAW_BREAKDOWN_MAX_DAYS",
    "TRENDING_KINDS",
    "TRENDING_WEIGHTS",
    "VITALS",
    "VOTING_INTERVALS",
    "ActiveUsers",
    "Lag",
    "Series",
    "active_users",
    "funnel",
    "funnel_first_time",
    "ingestion_lag",
    "paths",
    "retention",
    "session_summary",
    "trend",
    "trending",
    "voting_patterns",
    "web_vitals",
]

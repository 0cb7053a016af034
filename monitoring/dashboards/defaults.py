"""The dashboards a new installation starts with, as plain data: Executive, Operations,
Engagement and Notifications, and the Experiments and Predictions slots leading to those
apps' staff pages. Staff edit them in admin afterwards; installing again adds what is
missing and never overwrites an edit (unless asked to reset)."""

# (title, kind, source, params, range, width[, options])

DASHBOARDS = [
    {
        "slug": "executive",
        "title": "Executive",
        "position": 1,
        "description": "Users, votes, growth, and the artists and shows fans care about.",
        "widgets": [
            ("Daily active users", "metric", "active_users", {"measure": "dau"}, "24h", 1),
            ("Monthly active users", "metric", "active_users", {"measure": "mau"}, "24h", 1),
            ("Votes, last 30 days", "metric", "events", {"event": "vote_cast"}, "30d", 1),
            ("Sign-ups, last 30 days", "metric", "events", {"event": "signed_up"}, "30d", 1),
            ("Active users", "line", "active_users", {}, "90d", 2),
            ("Votes a day", "bar", "events", {"event": "vote_cast"}, "30d", 2),
            ("Sign-ups a day", "line", "events", {"event": "signed_up"}, "90d", 2),
            ("Votes by artist", "pie", "top", {"kind": "artist", "limit": 8}, "30d", 2),
            ("Top artists", "bar", "top", {"kind": "artist"}, "7d", 2),
            ("Top shows", "table", "top", {"kind": "show"}, "7d", 2),
        ],
    },
    {
        "slug": "operations",
        "title": "Operations",
        "position": 2,
        "description": "Health, latency, errors, queues, ingestion lag and alerts, now.",
        "widgets": [
            (
                "Error rate",
                "gauge",
                "figure",
                {"metric": "http_error_rate"},
                "15m",
                1,
                {"max": 0.05, "steps": [{"from": 0.01, "to": 0.05, "color": "#f6d5d5"}]},
            ),
            (
                "Requests a minute",
                "metric",
                "figure",
                {"metric": "http_requests_per_minute"},
                "15m",
                1,
            ),
            ("Latency p99", "metric", "figure", {"metric": "http_latency_p99_ms"}, "15m", 1),
            ("Workers alive", "metric", "figure", {"metric": "celery_workers_alive"}, "15m", 1),
            (
                "Requests a minute",
                "line",
                "figure",
                {"metric": "http_requests_per_minute"},
                "1h",
                2,
            ),
            ("Latency p95 (ms)", "line", "figure", {"metric": "http_latency_p95_ms"}, "1h", 2),
            ("Celery queue depth", "line", "figure", {"metric": "celery_queue_depth"}, "1h", 2),
            ("Ingestion lag (ms)", "line", "figure", {"metric": "ingestion_lag_ms"}, "1h", 2),
            (
                "Websocket connections",
                "metric",
                "figure",
                {"metric": "websocket_connections"},
                "15m",
                1,
            ),
            ("Task failures", "metric", "figure", {"metric": "celery_task_failures"}, "1h", 1),
            ("Alerts firing", "metric", "alerts", {}, "15m", 1),
            ("Checks failing", "metric", "health", {}, "15m", 1),
            ("Cache hit rate", "metric", "figure", {"metric": "cache_hit_rate"}, "1h", 1),
            (
                "Memory-layer hit rate",
                "metric",
                "figure",
                {"metric": "cache_local_hit_rate"},
                "1h",
                1,
            ),
            ("Open alerts", "table", "alerts", {}, "15m", 2),
            ("Health checks", "table", "health", {}, "15m", 2),
            ("Vote flags to review", "table", "vote_flags", {}, "24h", 2),
            ("Anomalies, last 24 hours", "table", "anomalies", {}, "24h", 2),
        ],
    },
    {
        "slug": "engagement",
        "title": "Engagement",
        "position": 3,
        "description": "Retention, funnels, sessions and paths.",
        "widgets": [
            ("Sessions, last 7 days", "metric", "sessions", {"measure": "sessions"}, "7d", 1),
            ("Bounce rate", "metric", "sessions", {"measure": "bounce_rate"}, "7d", 1),
            ("Median session (s)", "metric", "sessions", {"measure": "median_seconds"}, "7d", 1),
            ("Pages per session", "metric", "sessions", {"measure": "pages_per_session"}, "7d", 1),
            (
                "Weekly retention",
                "heatmap",
                "retention",
                {"period": "week", "periods": 8},
                "90d",
                4,
            ),
            (
                "First page view to first vote",
                "bar",
                "funnel",
                {"steps": ["$pageview", "vote_cast"], "mode": "first_time", "window_hours": 168},
                "30d",
                2,
            ),
            ("Common paths", "table", "paths", {"limit": 10}, "7d", 2),
            ("Page views a day", "line", "events", {"event": "$pageview"}, "30d", 2),
            (
                "Voters a day",
                "line",
                "events",
                {"event": "vote_cast", "measure": "persons"},
                "30d",
                2,
            ),
        ],
    },
    {
        "slug": "notifications",
        "title": "Notifications",
        "position": 4,
        "description": "Deliveries by channel, category, template variant and provider.",
        "page_url": "/notifications/dashboard/",
        "widgets": [
            ("Sent, last 24 hours", "metric", "deliveries", {"measure": "sent"}, "24h", 1),
            ("Opened, last 24 hours", "metric", "deliveries", {"measure": "opened"}, "24h", 1),
            ("Clicked, last 24 hours", "metric", "deliveries", {"measure": "clicked"}, "24h", 1),
            (
                "Failure rate",
                "gauge",
                "deliveries",
                {"measure": "failure_rate"},
                "24h",
                1,
                {"max": 0.2, "steps": [{"from": 0.05, "to": 0.2, "color": "#f6d5d5"}]},
            ),
            (
                "Sent by channel",
                "line",
                "deliveries",
                {"measure": "sent", "by": "channel"},
                "7d",
                2,
            ),
            (
                "Failures by provider",
                "bar",
                "deliveries",
                {"measure": "failed", "by": "provider"},
                "7d",
                2,
            ),
            ("By channel", "table", "deliveries", {"by": "channel"}, "7d", 2),
            (
                "Sent by category",
                "pie",
                "deliveries",
                {"measure": "sent", "by": "category"},
                "7d",
                2,
            ),
            ("By template version", "table", "deliveries", {"by": "template_version"}, "30d", 4),
            ("By experiment variant", "table", "deliveries", {"by": "variant"}, "30d", 4),
        ],
    },
    {
        "slug": "experiments",
        "title": "Experiments",
        "position": 5,
        "description": "A/B experiments: each has its results page.",
        "page_url": "/admin/experiments/experiment/",
        "widgets": [
            ("Running experiments", "metric", "experiments", {}, "24h", 1),
            ("Experiments", "table", "experiments", {}, "24h", 3),
        ],
    },
    {
        "slug": "predictions",
        "title": "Predictions",
        "position": 6,
        "description": "How well setlists were predicted, show by show.",
        "page_url": "/predictions/staff/",
        "widgets": [
            ("R-precision", "metric", "predictions", {"measure": "r_precision"}, "24h", 1),
            ("Brier score", "metric", "predictions", {"measure": "brier"}, "24h", 1),
            ("Accuracy by artist", "table", "predictions", {}, "24h", 4),
        ],
    },
]


def dashboards_install(dashboard_model, widget_model, *, reset: bool = False) -> int:
    """Create the default dashboards that are missing (all of them again with `reset`, which
    drops the defaults' edits); takes the models so a migration can pass its historical
    ones. Returns how many dashboards were created."""
    created = 0
    for spec in DASHBOARDS:
        existing = dashboard_model.objects.filter(slug=spec["slug"]).first()
        if existing is not None and not reset:
            continue
        if existing is not None:
            existing.delete()
        board = dashboard_model.objects.create(
            slug=spec["slug"], title=spec["title"], position=spec["position"],
            description=spec["description"], page_url=spec.get("page_url", ""),
        )  # fmt: skip
        widget_model.objects.bulk_create(
            widget_model(
                dashboard=board,
                title=title,
                kind=kind,
                source=source,
                params=params,
                range=range_key,
                interval="auto",
                width=width,
                position=position,
                options=more[0] if more else {},
            )
            for position, (title, kind, source, params, range_key, width, *more) in enumerate(
                spec["widgets"]
            )
        )
        created += 1
    return created

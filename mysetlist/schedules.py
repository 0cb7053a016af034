"""The beat schedule, declared in code; `manage.py sync_schedules` writes it to the database."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    expires: int  # seconds; about 1.5 times the interval, so a backlog never piles up
    crontab: dict | None = None  # minute, hour, day_of_week, day_of_month, month_of_year
    every_seconds: int | None = None  # for jobs more frequent than a minute


SCHEDULES = [
    Schedule(
        name="Predict upcoming shows again where votes, the model or settings moved",
        task="predictions.predictions_refresh",
        crontab={"minute": "*"},  # every minute: a vote burst costs one prediction a minute
        expires=90,
    ),
    Schedule(
        name="Fit the churn model and score fans' engagement",
        task="predictions.engagement_refresh",
        crontab={"minute": "37", "hour": "4"},  # daily at 04:37, after the day rollups
        expires=60 * 60 * 36,
    ),
    Schedule(
        name="Score predictions of shows whose setlists arrived",
        task="predictions.predictions_score_pending",
        crontab={"minute": "*/5"},  # every five minutes: imported or entered in admin
        expires=450,
    ),
    Schedule(
        name="Lock voting on shows whose date has passed",
        task="setlists.shows_lock_past_due",
        crontab={"minute": "*/5"},  # every five minutes
        expires=450,
    ),
    Schedule(
        name="Make monthly analytics event partitions ahead",
        task="analytics.event_partitions_ensure",
        crontab={"minute": "17", "hour": "3"},  # daily at 03:17
        expires=60 * 60 * 36,
    ),
    Schedule(
        name="Apply analytics retention policies",
        task="analytics.retention_apply",
        crontab={"minute": "47", "hour": "3"},  # daily at 03:47
        expires=60 * 60 * 36,
    ),
    Schedule(
        name="Start again analytics erasures still pending, sweep recent ones",
        task="analytics.erasures_redrive",
        crontab={"minute": "23"},  # hourly
        expires=60 * 90,
    ),
    Schedule(
        name="Count newly stored analytics events (live rollups)",
        task="analytics.rollups_live",
        every_seconds=1,  # ingestion lag (accepted to counted) stays well under 5 s
        expires=2,
    ),
    Schedule(
        name="Roll up analytics events by minute",
        task="analytics.rollups_process_minute",
        every_seconds=2,  # persons and the timeline exact within seconds, load allowing
        expires=3,
    ),
    Schedule(
        name="Roll up analytics events by hour",
        task="analytics.rollups_process_hour",
        every_seconds=60,
        expires=90,
    ),
    Schedule(
        name="Roll up analytics events by day",
        task="analytics.rollups_process_day",
        crontab={"minute": "*/5"},  # every five minutes
        expires=450,
    ),
    Schedule(
        name="Hand due notification deliveries to workers",
        task="notifications.deliveries_dispatch",
        every_seconds=5,  # quiet hours, caps and retries end within seconds of their time
        expires=8,
    ),
    Schedule(
        name="Fan out again notification triggers whose fan-out was lost",
        task="notifications.triggers_redrive",
        crontab={"minute": "*"},  # every minute
        expires=90,
    ),
    Schedule(
        name="Tell followers that voting closes soon",
        task="notifications.voting_closing_triggers",
        crontab={"minute": "*/5"},  # every five minutes
        expires=450,
    ),
    Schedule(
        name="Send the notification digests that are due",
        task="notifications.digests_send",
        crontab={"minute": "*"},  # every minute: digests go at each user's local hour
        expires=90,
    ),
    Schedule(
        name="Apply provider tracking events whose hand-over to a worker was lost",
        task="notifications.tracking_events_apply",
        crontab={"minute": "*"},  # every minute
        expires=90,
    ),
    Schedule(
        name="Evaluate alert rules and send what changed",
        task="monitoring.alerts_evaluate",
        crontab={"minute": "*"},  # every minute: the evaluation interval rules are checked at
        expires=90,
    ),
    Schedule(
        name="Look for unusual voting at open shows (vote flags)",
        task="monitoring.voting_scan",
        crontab={"minute": "*/5"},  # every five minutes
        expires=450,
    ),
    Schedule(
        name="Keep hourly request counts for the HTTP error rate's anomaly baseline",
        task="monitoring.request_hours_record",
        crontab={"minute": "3"},  # hourly, just after the hour (the live store keeps 26 h)
        expires=60 * 90,
    ),
    Schedule(
        name="Roll up notification deliveries of the last minutes",
        task="notifications.deliveries_rollup",
        crontab={"minute": "*"},  # every minute: the dashboard and live figures follow
        expires=90,
    ),
    Schedule(
        name="Roll up notification deliveries of the last two days again",
        task="notifications.deliveries_rollup_settle",
        crontab={"minute": "41"},  # hourly: late statuses, bounces and webhooks
        expires=60 * 90,
    ),
    Schedule(
        name="Delete notification rollups past their retention",
        task="notifications.rollups_prune",
        crontab={"minute": "53", "hour": "3"},  # daily at 03:53
        expires=60 * 60 * 36,
    ),
    Schedule(
        name="Refresh each user's likely notification open hours",
        task="notifications.open_hours_refresh",
        crontab={"minute": "29", "hour": "2"},  # daily at 02:29; habits move over weeks
        expires=60 * 60 * 36,
    ),
    Schedule(
        name="Refresh the results of running experiments",
        task="experiments.results_refresh_running",
        crontab={"minute": "*/15"},  # every quarter hour; the page also refreshes on demand
        expires=60 * 22,
    ),
    Schedule(
        name="Daily summary report of yesterday, sent to its subscribers",
        task="monitoring.report_daily",
        crontab={"minute": "7", "hour": "5"},  # daily at 05:07 UTC, after the day rollups
        expires=60 * 60 * 36,
    ),
    Schedule(
        name="Weekly cohorts and retention report of last week",
        task="monitoring.report_weekly",
        crontab={"minute": "17", "hour": "5", "day_of_week": "1"},  # Mondays at 05:17 UTC
        expires=60 * 60 * 24 * 10,
    ),
    Schedule(
        name="Weekly notification report of last week",
        task="monitoring.report_notifications",
        crontab={"minute": "27", "hour": "5", "day_of_week": "1"},  # Mondays at 05:27 UTC
        expires=60 * 60 * 24 * 10,
    ),
    Schedule(
        name="Monthly review report of last month",
        task="monitoring.report_monthly",
        crontab={"minute": "37", "hour": "5", "day_of_month": "1"},  # the 1st at 05:37 UTC
        expires=60 * 60 * 24 * 45,
    ),
    Schedule(
        name="Delete export files finished over a week ago",
        task="monitoring.exports_prune",
        crontab={"minute": "13", "hour": "4"},  # daily at 04:13 UTC
        expires=60 * 60 * 36,
    ),
]

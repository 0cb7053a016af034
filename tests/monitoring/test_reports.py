"""Scheduled reports end to end: events rolled up for a past period, the report made by the
beat task, its figures against what the selectors answer for that period, sent through
notifications (locmem email, in-app) to subscribed staff only, and its staff pages."""

import csv
import datetime as dt
import io
import json
import re
from urllib.parse import urlsplit

import openpyxl
import pypdf
import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics import public as analytics_public
from analytics import selectors as analytics_selectors
from analytics.rollups.passes import rollups_live, rollups_rebuild
from analytics.services import AccountEvent, track_many
from monitoring.models import Alert, AlertRule
from monitoring.reports import builders, periods, services, tasks
from monitoring.reports.models import Report, ReportSubscription
from notifications import selectors as notifications_selectors
from notifications.metrics.rollups import rollup_range
from notifications.models import Delivery, Notification
from tests.setlists.factories import ArtistFactory, ShowFactory, UserFactory

pytestmark = pytest.mark.django_db


def yesterday() -> tuple[dt.datetime, dt.datetime]:
    today = timezone.now().astimezone(dt.UTC).date()
    return periods.moments(periods.period_of("daily", today - dt.timedelta(days=1)))


@pytest.fixture
def subscribers(staff):
    """`staff` gets daily and weekly reports; another staff member and a fan get nothing
    (the fan's subscription row, which no service would make, is ignored)."""
    services.report_subscribe(user=staff, kind="daily")
    services.report_subscribe(user=staff, kind="weekly")
    other_staff = UserFactory(is_staff=True)
    fan = UserFactory()
    ReportSubscription.objects.create(user=fan, kind="daily")
    return staff, other_staff, fan


@pytest.fixture
def day_with_data():
    """Yesterday (UTC): 3 sign-ups, votes on two artists' shows, page views, an alert."""
    return data_on(*yesterday())


def data_on(start: dt.datetime, end: dt.datetime):
    fans = [UserFactory(date_joined=start + dt.timedelta(hours=h)) for h in (1, 5, 9)]
    big, small = ArtistFactory(name="Big Band"), ArtistFactory(name="Small Act")
    big_show, small_show = ShowFactory(artist=big), ShowFactory(artist=small)
    events = []
    for i in range(12):
        show = big_show if i < 9 else small_show
        props = {"artist_id": show.artist_id, "show_id": show.pk, "song_id": 1000 + i}
        moment = start + dt.timedelta(hours=i % 6 + 2, minutes=i)
        events.append(AccountEvent("vote_cast", fans[i % 3].pk, moment, props))
    for i in range(7):
        events.append(AccountEvent("$pageview", fans[i % 2].pk, start + dt.timedelta(hours=i), {}))
    track_many(events=events)
    rollups_live()
    rollups_rebuild(start=start, end=end - dt.timedelta(seconds=1))
    rule = AlertRule.objects.create(
        name="Votes stalled", metric="votes_per_minute", operator="lt", threshold=1
    )
    Alert.objects.create(
        rule=rule, state="resolved", started_at=start + dt.timedelta(hours=3),
        fired_at=start + dt.timedelta(hours=3, minutes=5), value=0.0,
    )  # fmt: skip
    return start, end, {"big": big, "small": small}


def section(document: dict, title: str) -> dict:
    return next(s for s in document["sections"] if s["title"] == title)


def test_the_daily_report_matches_the_selectors_and_reaches_subscribed_staff_only(
    day_with_data, subscribers, django_capture_on_commit_callbacks
):
    start, end, artists = day_with_data
    staff, other_staff, fan = subscribers
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.report_daily()  # what beat runs
    report = Report.objects.get(pk=result["report"])
    assert result["new"] and report.kind == "daily"
    assert (report.period_start, report.period_end) == (start, end)

    figures = dict(section(report.document, "Headline figures")["rows"])
    totals = analytics_selectors.event_totals(start=start, end=end)
    active = analytics_public.active_users(first_day=start.date(), last_day=start.date())[0]
    assert figures["Votes"] == totals["vote_cast"] == 12
    assert figures["Analytics events"] == sum(totals.values()) == 19
    assert figures["New users (signed up)"] == 3
    assert figures[f"Active users on {start:%Y-%m-%d} (DAU)"] == active.dau == 3
    assert figures["Alerts fired"] == 1

    (trend,) = analytics_public.trend(
        event="vote_cast", interval="hour", start=start, end=end - dt.timedelta(microseconds=1)
    )
    votes_by_hour = section(report.document, "Votes by hour")
    assert [n for _, n in votes_by_hour["rows"]] == [n for _, n in trend.points]
    assert votes_by_hour["chart"]["data"][0]["y"] == [n for _, n in trend.points]
    assert section(report.document, "Top artists by votes")["rows"] == [
        ["Big Band", 9],
        ["Small Act", 3],
    ]
    assert section(report.document, "Top artists by votes")["rows"] == [
        list(row) for row in builders.top_artists(start, end)
    ]
    assert section(report.document, "Alerts fired")["rows"][0][0] == "Votes stalled"

    (email,) = mail.outbox
    assert email.to == [staff.email]
    assert email.subject == f"Daily summary, {start:%Y-%m-%d} is ready"
    assert "12 votes among 19 analytics events." in email.body
    (tracked,) = re.findall(r"http://testserver/notifications/c/\S+/", email.body)
    landing = Client().get(urlsplit(tracked).path)  # the email's link, through click tracking
    assert landing.status_code == 302 and landing["Location"] == report.get_absolute_url()
    (in_app,) = notifications_selectors.inbox_list(user=staff)
    assert in_app.category == "report_ready" and in_app.context["url"] == report.get_absolute_url()
    assert not Notification.objects.filter(user__in=[other_staff, fan]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        again = tasks.report_daily()
    assert again == {"report": report.pk, "new": False}
    assert len(mail.outbox) == 1 and Report.objects.count() == 1


def test_the_weekly_report_holds_the_retention_cohorts():
    last_week = periods.period_last_complete("weekly", timezone.now().date())
    start, _, _ = data_on(*periods.moments(periods.period_of("daily", last_week[0])))
    report, new = services.report_generate(kind="weekly", day=start.date())
    week_start, week_end = periods.moments(periods.period_of("weekly", start.date()))
    assert new and (report.period_start, report.period_end) == (week_start, week_end)
    cohorts = builders.cohorts(week_start, week_end)
    assert cohorts and sum(c.size for c in cohorts) >= 3
    rows = section(report.document, "Weekly retention cohorts (first seen)")["rows"]
    assert [(row[0], row[1]) for row in rows] == [(c.start.isoformat(), c.size) for c in cohorts]
    days = section(report.document, "Active users by day")["rows"]
    assert len(days) == 7 and any(row[1] == 3 for row in days)


def test_the_monthly_review_covers_the_calendar_month():
    last_month = periods.period_last_complete("monthly", timezone.now().date())
    start, _, _ = data_on(*periods.moments(periods.period_of("daily", last_month[0])))
    report, _ = services.report_generate(kind="monthly", day=start.date())
    assert report.period_start.day == 1 and report.period_end.day == 1
    assert report.period_start <= start < report.period_end
    figures = dict(section(report.document, "Headline figures")["rows"])
    totals = analytics_selectors.event_totals(start=report.period_start, end=report.period_end)
    assert figures["Votes"] == totals["vote_cast"] >= 12


def test_the_notification_report_reads_the_delivery_rollups(staff):
    start, end = periods.moments(
        periods.period_last_complete("notifications", timezone.now().date())
    )
    made = start + dt.timedelta(days=2, hours=3)
    for i, (channel, status) in enumerate(
        [("email", "sent"), ("email", "failed"), ("in_app", "delivered"), ("email", "sent")]
    ):
        notification = Notification.objects.create(
            user=staff, category="digest", key=f"digest:test:{i}", created_at=made
        )
        Delivery.objects.create(
            notification=notification, channel=channel, status=status, created_at=made,
            sent_at=made if status != "failed" else None, provider="test",
            delivered_at=made if status == "delivered" else None,
        )  # fmt: skip
    rollup_range(start=start, end=end)
    report, _ = services.report_generate(kind="notifications", day=start.date())
    by_channel = {
        t.key["channel"]: t
        for t in notifications_selectors.delivery_totals(start=start, end=end, by=("channel",))
    }
    rows = {row[0]: row for row in section(report.document, "By channel")["rows"]}
    assert set(rows) == set(by_channel) == {"email", "in_app"}
    columns = section(report.document, "By channel")["columns"]
    for channel, totals in by_channel.items():
        values = dict(zip(columns, rows[channel], strict=True))
        assert values["deliveries"] == totals.deliveries
        assert values["failed"] == totals.failed == (1 if channel == "email" else 0)
        assert values["failure_rate"] == totals.failure_rate
    assert rows["email"][1] == 3
    assert section(report.document, "By category")["rows"][0][0] == "digest"
    titles = [s["title"] for s in report.document["sections"]]
    assert "Recommendations: trending artists now" in titles


def test_a_period_not_over_is_refused_and_the_command_runs_one(day_with_data, staff):
    today = timezone.now().date()
    with pytest.raises(CommandError, match="is not over yet"):
        call_command("report_generate", "daily", "--period-start", today.isoformat())
    assert not Report.objects.exists()
    out = io.StringIO()
    day = (today - dt.timedelta(days=1)).isoformat()
    call_command("report_generate", "daily", "--period-start", day, stdout=out)
    assert f"Daily summary, {day}" in out.getvalue() and "generated" in out.getvalue()
    call_command("report_generate", "daily", "--period-start", day, stdout=out)
    assert "already there" in out.getvalue() and Report.objects.count() == 1


def test_staff_see_reports_with_charts_and_download_each_format(day_with_data, staff):
    start, _, _ = day_with_data
    report, _ = services.report_generate(kind="daily", day=start.date())
    client = Client()
    client.force_login(staff)
    listing = client.get(reverse("reports:list"))
    assert listing.status_code == 200 and report.title in listing.content.decode()
    page = client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert '<script id="figure-1" type="application/json">' in page
    assert 'data-figure="figure-1"' in page and "js/charts.js" in page
    assert "Big Band" in page and reverse("reports:export", args=[report.pk, "pdf"]) in page

    def download(format):
        response = client.get(reverse("reports:export", args=[report.pk, format]))
        assert response.status_code == 200
        return b"".join(response.streaming_content) if response.streaming else response.content

    table = list(csv.reader(io.StringIO(download("csv").decode())))
    assert table[0] == ["Headline figures"] and ["Votes", "12"] in table
    assert json.loads(download("json"))["title"] == report.title
    book = openpyxl.load_workbook(io.BytesIO(download("xlsx")))
    assert "Top artists by votes" in book.sheetnames
    reader = pypdf.PdfReader(io.BytesIO(download("pdf")))
    assert report.title in reader.pages[0].extract_text()
    assert client.get(reverse("reports:export", args=[report.pk, "docx"])).status_code == 302


def test_report_pages_are_for_staff_only(day_with_data):
    start, _, _ = day_with_data
    report, _ = services.report_generate(kind="daily", day=start.date())
    fan = Client()
    fan.force_login(UserFactory())
    for url in (
        reverse("reports:list"),
        reverse("reports:detail", args=[report.pk]),
        reverse("reports:export", args=[report.pk, "csv"]),
    ):
        response = fan.get(url)
        assert response.status_code == 403 and "Big Band" not in response.content.decode()
        assert Client().get(url).status_code == 302  # anonymous: to the log-in page
    assert fan.post(reverse("reports:subscriptions"), {"kinds": ["daily"]}).status_code == 403
    assert not ReportSubscription.objects.exists()


def test_staff_choose_their_subscriptions_on_the_list_page(staff):
    client = Client()
    client.force_login(staff)
    client.post(reverse("reports:subscriptions"), {"kinds": ["daily", "monthly"]})
    assert set(ReportSubscription.objects.values_list("kind", flat=True)) == {"daily", "monthly"}
    client.post(reverse("reports:subscriptions"), {"kinds": ["weekly"]})
    assert list(ReportSubscription.objects.values_list("kind", flat=True)) == ["weekly"]
    assert 'value="weekly" checked' in client.get(reverse("reports:list")).content.decode()


def test_report_export_jobs_run_in_the_background(
    day_with_data, staff, settings, tmp_path, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    settings.MEDIA_ROOT = str(tmp_path)
    start, _, _ = day_with_data
    report, _ = services.report_generate(kind="daily", day=start.date())
    client = APIClient()
    client.force_authenticate(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("exports-api:job-create"),
            {"kind": "report", "report_id": report.pk, "format": "pdf"},
            format="json",
        )
    assert response.status_code == 202
    job = client.get(reverse("exports-api:job-detail", args=[response.json()["id"]])).json()
    assert job["status"] == "done" and job["progress"] == 100
    pdf = client.get(job["download_url"])
    reader = pypdf.PdfReader(io.BytesIO(b"".join(pdf.streaming_content)))
    assert report.title in reader.pages[0].extract_text()
    missing = client.post(
        reverse("exports-api:job-create"),
        {"kind": "report", "report_id": 999999, "format": "csv"},
        format="json",
    )
    assert missing.status_code == 404 and missing.json()["message"] == "There is no report 999999."


@pytest.mark.parametrize(
    ("kind", "day", "expected"),
    [
        ("daily", dt.date(2026, 12, 6), (dt.date(2026, 12, 6), dt.date(2026, 12, 7))),
        ("weekly", dt.date(2026, 12, 6), (dt.date(2026, 11, 30), dt.date(2026, 12, 7))),
        ("notifications", dt.date(2026, 11, 30), (dt.date(2026, 11, 30), dt.date(2026, 12, 7))),
        ("monthly", dt.date(2026, 12, 31), (dt.date(2026, 12, 1), dt.date(2027, 1, 1))),
    ],
)
def test_periods(kind, day, expected):
    assert periods.period_of(kind, day) == expected
    last = periods.period_last_complete(kind, expected[1])
    assert last == expected

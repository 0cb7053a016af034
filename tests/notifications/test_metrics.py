"""Delivery metrics: the selector's counts, rates, percentiles and errors over a window of
known deliveries; the staff API and dashboard page over it; the volume figure."""

import datetime as dt
import itertools
import random
import statistics

import plotly.graph_objects as go
import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.stats import percentile
from notifications.metrics import charts
from notifications.metrics import queries as metrics
from notifications.metrics.histogram import RELATIVE_ERROR
from notifications.metrics.rollups import rollup_range
from notifications.models import Delivery, Notification
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY_1, DAY_3 = dt.date(2024, 5, 1), dt.date(2024, 5, 3)
WINDOW = {"date_from": DAY_1, "date_to": DAY_3}
QUERY = {"date_from": "2024-05-01", "date_to": "2024-05-03"}
LONG_ERROR = "x" * 250
_keys = itertools.count()


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2024, 5, day, hour, minute, second, tzinfo=dt.UTC)


def told(user, when: dt.datetime, category: str = "show_announced") -> Notification:
    return Notification.objects.create(
        user=user, category=category, key=f"metrics:{next(_keys)}", created_at=when
    )


def delivery(notification: Notification, channel: str, status: str, **fields) -> Delivery:
    return Delivery.objects.create(
        notification=notification,
        channel=channel,
        status=status,
        created_at=notification.created_at,
        **fields,
    )


def sent(notification, seconds: float = 1) -> dt.datetime:
    return notification.created_at + dt.timedelta(seconds=seconds)


@pytest.fixture
def deliveries():
    """Fourteen deliveries of eight notifications over three days, and two just outside.

    email  e1 delivered, opened +60.25 s, clicked +120 s, converted   show_announced v2
           e2 delivered, opened +30.5 s                              show_announced v2
           e3 sent, opened +90 s (no delivered event)                show_announced v2
           e4 sent                                                   voting_opened v1
           e5, e6 bounced at resend                                  voting_opened v1
           e7 failed before any provider; e8 skipped                 digest
    in_app i1 delivered without sent_at, i2 delivered; i3 held
    push   p1, p2 failed at webpush with 250-character errors       voting_opened
    sms    s1 queued                                                 digest
    """
    fan = UserFactory()
    n1 = told(fan, at(1, 10))
    s = sent(n1)
    delivery(
        n1, "email", "delivered", sent_at=s, delivered_at=s, latency_ms=100, render_ms=5.0,
        template_version=2, provider="resend", opened_at=s + dt.timedelta(seconds=60.25),
        clicked_at=s + dt.timedelta(seconds=120), converted_at=s + dt.timedelta(seconds=300),
    )  # fmt: skip
    delivery(n1, "in_app", "delivered", delivered_at=s, latency_ms=10, provider="inbox")
    n2 = told(fan, at(1, 11))
    s = sent(n2)
    delivery(
        n2, "email", "delivered", sent_at=s, delivered_at=s, latency_ms=200, render_ms=7.0,
        template_version=2, provider="resend", opened_at=s + dt.timedelta(seconds=30.5),
    )  # fmt: skip
    delivery(n2, "in_app", "delivered", sent_at=s, delivered_at=s, latency_ms=20)
    n3 = told(fan, at(2, 9))
    s = sent(n3)
    delivery(
        n3, "email", "sent", sent_at=s, latency_ms=300, template_version=2, provider="resend",
        opened_at=s + dt.timedelta(seconds=90),
    )  # fmt: skip
    n4 = told(fan, at(2, 10), "voting_opened")
    delivery(
        n4, "email", "sent", sent_at=sent(n4), latency_ms=400, template_version=1,
        provider="resend",
    )  # fmt: skip
    delivery(n4, "push", "failed", provider="webpush", response=LONG_ERROR + "1")
    n5 = told(fan, at(2, 12), "voting_opened")
    delivery(
        n5, "email", "bounced", sent_at=sent(n5), latency_ms=500, template_version=1,
        provider="resend", response="550 5.1.1 mailbox unavailable",
    )  # fmt: skip
    delivery(n5, "push", "failed", provider="webpush", response=LONG_ERROR + "2")
    n6 = told(fan, at(3, 8), "voting_opened")
    delivery(
        n6, "email", "bounced", sent_at=sent(n6), template_version=1, provider="resend",
        response="550 5.1.1 mailbox unavailable",
    )  # fmt: skip
    delivery(n6, "in_app", "held")
    n7 = told(fan, at(3, 9), "digest")
    delivery(n7, "email", "failed", response="PermanentError: The user has no email address.")
    n8 = told(fan, at(3, 23, 59, 59), "digest")
    delivery(n8, "email", "skipped", response="unsubscribed")
    delivery(n8, "sms", "queued")
    # Outside the window by a second each way.
    delivery(told(fan, at(1, 0) - dt.timedelta(seconds=1)), "email", "failed", response="old")
    delivery(told(fan, at(3, 0) + dt.timedelta(days=1)), "email", "failed", response="new")
    rollup_range(start=at(1, 0) - dt.timedelta(days=1), end=at(3, 0) + dt.timedelta(days=2))


def counts(row) -> dict:
    return {name: getattr(row, name) for name in metrics.COUNTS}


def rates(row) -> tuple:
    return (row.delivery_rate, row.open_rate, row.click_rate, row.conversion_rate)


def test_delivery_metrics_counts_the_funnel_by_channel_in_few_queries(
    deliveries, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        report = metrics.delivery_metrics(**WINDOW)

    email, push, in_app, sms = report.by_channel
    assert (email.channel, push.channel, in_app.channel, sms.channel) == (
        "email", "push", "in_app", "sms",
    )  # fmt: skip
    assert counts(email) == {
        "deliveries": 8, "sent": 6, "delivered": 3, "failed": 1, "bounced": 2, "skipped": 1,
        "pending": 0, "opened": 3, "clicked": 1, "converted": 1, "dismissed": 0,
    }  # fmt: skip
    assert rates(email) == (0.5, 1.0, 0.3333, 1.0)
    # in-app: delivered counts as sent, even without sent_at
    assert (in_app.deliveries, in_app.sent, in_app.delivered, in_app.pending) == (3, 2, 2, 1)
    assert rates(in_app) == (1.0, 0.0, 0.0, None)
    assert (push.deliveries, push.failed, push.sent) == (2, 2, 0)
    assert rates(push) == (None, None, None, None)
    assert (sms.deliveries, sms.pending) == (1, 1)
    assert counts(report.totals) == {
        "deliveries": 14, "sent": 8, "delivered": 5, "failed": 3, "bounced": 2, "skipped": 1,
        "pending": 2, "opened": 3, "clicked": 1, "converted": 1, "dismissed": 0,
    }  # fmt: skip
    assert rates(report.totals) == (0.625, 0.6, 0.2, 1.0)


def test_delivery_metrics_by_category_and_template(deliveries):
    report = metrics.delivery_metrics(**WINDOW)

    by_category = {row.category: row for row in report.by_category}
    assert [row.category for row in report.by_category] == [
        "show_announced", "voting_opened", "digest",
    ]  # fmt: skip
    shows = by_category["show_announced"]
    assert (shows.deliveries, shows.sent, shows.delivered, shows.opened) == (5, 5, 5, 3)
    assert rates(shows) == (1.0, 0.6, 0.2, 1.0)
    voting = by_category["voting_opened"]
    assert (voting.deliveries, voting.sent, voting.failed, voting.bounced) == (6, 3, 2, 2)
    assert rates(voting) == (0.0, None, None, None)
    digest = by_category["digest"]
    assert (digest.deliveries, digest.failed, digest.skipped, digest.pending) == (3, 1, 1, 1)

    assert [(row.label, row.deliveries) for row in report.by_template] == [
        ("show_announced · default", 2),
        ("show_announced · 2", 3),
        ("voting_opened · default", 3),
        ("voting_opened · 1", 3),
        ("digest · default", 3),
    ]
    v2 = report.by_template[1]
    assert (v2.category, v2.template_version) == ("show_announced", "2")
    assert rates(v2) == (1.0, 1.0, 0.3333, 1.0)  # e3: sent and opened is delivered


def test_delivery_metrics_volume_by_day_and_channel(deliveries):
    report = metrics.delivery_metrics(**WINDOW)

    assert [(d.day, d.notifications, d.deliveries) for d in report.volume] == [
        (DAY_1, 2, 4), (dt.date(2024, 5, 2), 3, 5), (DAY_3, 3, 5),
    ]  # fmt: skip
    assert report.volume[0].by_channel == {"email": 2, "push": 0, "in_app": 2, "sms": 0}
    assert report.volume[2].by_channel == {"email": 3, "push": 0, "in_app": 1, "sms": 1}


def test_delivery_metrics_filter_by_channel_and_category(deliveries):
    in_app = metrics.delivery_metrics(**WINDOW, channel="in_app")
    assert [(d.notifications, d.by_channel) for d in in_app.volume] == [
        (2, {"in_app": 2}), (0, {"in_app": 0}), (1, {"in_app": 1}),
    ]  # fmt: skip
    assert [row.channel for row in in_app.by_channel] == ["in_app"]
    assert in_app.totals.deliveries == 3 and in_app.errors == ()

    voting = metrics.delivery_metrics(**WINDOW, category="voting_opened", channel="email")
    assert [d.notifications for d in voting.volume] == [0, 2, 1]
    assert (voting.totals.deliveries, voting.totals.sent, voting.totals.bounced) == (3, 3, 2)
    assert [row.category for row in voting.by_category] == ["voting_opened"]


def test_delivery_metrics_percentiles_by_channel(deliveries):
    R = RELATIVE_ERROR
    email, push, in_app, sms = metrics.delivery_metrics(**WINDOW).timings

    cuts = statistics.quantiles([100, 200, 300, 400, 500], n=100, method="inclusive")
    # read from histograms: each within their relative error of the exact value
    assert (email.latency_p50_ms, email.latency_p90_ms, email.latency_p99_ms) == pytest.approx(
        (300.0, 460.0, 496.0), R
    )
    assert email.latency_p90_ms == pytest.approx(cuts[89], R)
    assert email.latency_p99_ms == pytest.approx(cuts[98], R)
    assert (email.render_p50_ms, email.render_p99_ms) == pytest.approx((6.0, 6.98), R)
    assert (email.open_median_s, email.click_median_s) == pytest.approx((60.25, 120.0), R)
    assert (in_app.latency_p50_ms, in_app.latency_p90_ms, in_app.latency_p99_ms) == (
        pytest.approx((15.0, 19.0, 19.9), R)
    )
    assert (in_app.render_p50_ms, in_app.open_median_s) == (None, None)
    assert push.channel == "push" and push.latency_p50_ms is None and push.render_p99_ms is None
    assert sms.click_median_s is None


def test_delivery_metrics_percentiles_are_within_the_histograms_error_of_exact():
    """Spread over many minutes, merged into hours and days: still within 1% of exact."""
    rng = random.Random(7)
    fan = UserFactory()
    latencies, renders, opens = [], [], []
    for n in range(41):
        notification = told(fan, at(2, n % 24, n))
        latency, render = rng.randint(0, 90_000), round(rng.uniform(0.1, 80), 3)
        opened = dt.timedelta(seconds=rng.randint(1, 3600), microseconds=rng.randint(0, 10**6))
        s = sent(notification)
        delivery(
            notification, "email", "delivered", sent_at=s, latency_ms=latency, render_ms=render,
            opened_at=s + opened,
        )  # fmt: skip
        latencies.append(latency), renders.append(render), opens.append(opened.total_seconds())
    rollup_range(start=at(1, 0), end=at(20, 0))

    (email,) = metrics.delivery_metrics(**WINDOW).timings

    def expected(values, share):
        return pytest.approx(percentile(values, share), rel=RELATIVE_ERROR, abs=0.001)

    assert email.latency_p50_ms == expected(latencies, 0.5)
    assert email.latency_p50_ms != statistics.median(latencies)  # it is a histogram
    assert email.latency_p90_ms == expected(latencies, 0.9)
    assert email.latency_p99_ms == expected(latencies, 0.99)
    assert email.render_p50_ms == expected(renders, 0.5)
    assert email.render_p99_ms == expected(renders, 0.99)
    assert email.open_median_s == expected(opens, 0.5)


def test_percentile_is_linear_between_ranks():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.99) == 7.0
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)


def test_delivery_metrics_errors_by_provider(deliveries):
    errors = metrics.delivery_metrics(**WINDOW).errors

    assert [(e.provider, e.failed, e.bounced, e.total) for e in errors] == [
        ("resend", 0, 2, 2), ("webpush", 2, 0, 2), ("", 1, 0, 1),
    ]  # fmt: skip
    assert [(r.text, r.count) for r in errors[0].top_responses] == [
        ("550 5.1.1 mailbox unavailable", 2)
    ]
    # two errors alike in their first 200 characters are one response
    assert [(r.text, r.count) for r in errors[1].top_responses] == [("x" * 200, 2)]
    assert errors[2].top_responses[0].text.startswith("PermanentError")


def test_delivery_metrics_keeps_the_five_most_common_responses_a_provider():
    fan = UserFactory()
    for n, response in enumerate(["b", "a", "f", "a", "c", "e", "d", "", "a", "f"]):
        delivery(told(fan, at(2, 12, n)), "email", "failed", provider="ses", response=response)
    rollup_range(start=at(2, 0), end=at(3, 0))

    (ses,) = metrics.delivery_metrics(**WINDOW).errors

    assert (ses.failed, ses.bounced) == (10, 0)
    assert [(r.text, r.count) for r in ses.top_responses] == [
        ("a", 3), ("f", 2), ("b", 1), ("c", 1), ("d", 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("date_from", "date_to", "field"),
    [
        (DAY_3, DAY_1, "date_from"),
        (DAY_1, DAY_1 + dt.timedelta(days=92), "date_to"),
        (dt.date(1999, 12, 31), DAY_1, "date_from"),
    ],
)
def test_delivery_metrics_refuses_a_reversed_long_or_far_window(date_from, date_to, field):
    with pytest.raises(ApplicationError) as refused:
        metrics.delivery_metrics(date_from=date_from, date_to=date_to)
    assert list(refused.value.extra["fields"]) == [field]


def test_window_defaults_to_the_last_seven_days_and_allows_92():
    today = dt.date(2024, 5, 10)
    assert metrics.window_with_defaults(date_from=None, date_to=None, today=today) == (
        dt.date(2024, 5, 4), today,
    )  # fmt: skip
    assert metrics.window_with_defaults(date_from=None, date_to=DAY_3, today=today) == (
        dt.date(2024, 4, 27), DAY_3,
    )  # fmt: skip
    assert metrics.window_with_defaults(date_from=DAY_1, date_to=None, today=today) == (
        DAY_1, today,
    )  # fmt: skip
    assert metrics.window_problems(date_from=DAY_1, date_to=DAY_1 + dt.timedelta(days=91)) == {}
    empty = metrics.delivery_metrics(date_from=DAY_1, date_to=DAY_1 + dt.timedelta(days=91))
    assert len(empty.volume) == 92 and empty.totals.deliveries == 0
    assert empty.by_channel == () and empty.timings == () and empty.errors == ()
    assert empty.totals.delivery_rate is None


# The volume figure


def test_volume_figure_stacks_channels_under_a_line_of_notifications(deliveries):
    report = metrics.delivery_metrics(**WINDOW)

    figure = charts.volume_figure(report.volume, labels={"email": "Email"})

    go.Figure(figure)  # plotly accepts it as it is
    bars = [trace for trace in figure["data"] if trace["type"] == "bar"]
    assert [trace["name"] for trace in bars] == ["Email", "push", "in_app", "sms"]
    assert bars[0]["x"] == ["2024-05-01", "2024-05-02", "2024-05-03"]
    assert bars[0]["y"] == [2, 3, 3]
    line = figure["data"][-1]
    assert (line["type"], line["name"], line["y"]) == ("scatter", "Notifications", [2, 3, 3])
    assert figure["layout"]["barmode"] == "stack"


def test_volume_figure_of_nothing_is_a_lone_empty_line():
    figure = charts.volume_figure([])
    go.Figure(figure)
    assert [trace["type"] for trace in figure["data"]] == ["scatter"]


# The API


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def test_metrics_api_gives_staff_the_whole_report(deliveries, staff, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client_for(staff).get(reverse("notifications-api:metrics"), QUERY)

    assert response.status_code == 200
    body = response.json()
    assert (body["date_from"], body["date_to"], body["channel"]) == (
        "2024-05-01", "2024-05-03", None,
    )  # fmt: skip
    assert body["totals"]["deliveries"] == 14 and body["totals"]["delivery_rate"] == 0.625
    email = body["by_channel"][0]
    assert email["channel"] == "email"
    assert (email["sent"], email["delivered"], email["click_rate"]) == (6, 3, 0.3333)
    assert body["by_channel"][1]["delivery_rate"] is None  # push: nothing sent
    assert body["by_category"][2]["category"] == "digest"
    assert body["by_template"][1]["template_version"] == "2"
    assert body["volume"][0] == {
        "day": "2024-05-01", "notifications": 2, "deliveries": 4,
        "by_channel": {"email": 2, "push": 0, "in_app": 2, "sms": 0},
    }  # fmt: skip
    assert body["timings"][0]["latency_p90_ms"] == pytest.approx(460.0, rel=RELATIVE_ERROR)
    assert body["timings"][0]["open_median_s"] == pytest.approx(60.25, rel=RELATIVE_ERROR)
    assert body["errors"][0] == {
        "provider": "resend", "failed": 0, "bounced": 2, "total": 2,
        "top_responses": [{"text": "550 5.1.1 mailbox unavailable", "count": 2}],
    }  # fmt: skip


def test_metrics_api_filters_by_channel_and_category(deliveries, staff):
    response = client_for(staff).get(
        reverse("notifications-api:metrics"), {**QUERY, "channel": "push", "category": "digest"}
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["channel"], body["category"], body["totals"]["deliveries"]) == (
        "push", "digest", 0,
    )  # fmt: skip


def test_metrics_api_defaults_to_the_last_seven_days(staff):
    response = client_for(staff).get(reverse("notifications-api:metrics"))
    today = timezone.now().date()
    body = response.json()
    assert response.status_code == 200
    assert body["date_to"] == today.isoformat()
    assert body["date_from"] == (today - dt.timedelta(days=6)).isoformat()
    assert len(body["volume"]) == 7


def test_metrics_api_is_for_staff_only(user):
    url = reverse("notifications-api:metrics")
    assert client_for(user).get(url, QUERY).status_code == 403
    anonymous = APIClient().get(url, QUERY)
    assert anonymous.status_code in (401, 403) and "message" in anonymous.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2024-05-03", "date_to": "2024-05-01"}, "date_from"),
        ({"date_from": "2024-01-01", "date_to": "2024-05-01"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "1999-01-01", "date_to": "1999-01-02"}, "date_from"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_metrics_api_refuses_a_bad_window_or_filter(staff, query, field):
    response = client_for(staff).get(reverse("notifications-api:metrics"), query)
    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == [field]


def test_metrics_api_says_how_long_a_window_may_be(staff):
    response = client_for(staff).get(
        reverse("notifications-api:metrics"), {"date_from": "2024-01-01", "date_to": "2024-05-01"}
    )
    assert response.json()["extra"]["fields"]["date_to"] == [
        "The window spans 122 days; at most 92."
    ]


# The page


def test_dashboard_shows_staff_the_tables_and_the_chart(
    client, deliveries, staff, django_assert_max_num_queries
):
    client.force_login(staff)
    # session, user, the tracker key unless cached, and the six of the metrics; Do-Not-Track
    # keeps analytics' capture of the page view (its own queries) out of the count
    with django_assert_max_num_queries(9):
        response = client.get(reverse("notifications:dashboard"), QUERY, HTTP_DNT="1")

    assert response.status_code == 200
    body = response.content.decode()
    for table in ('id="volume"', 'id="funnel"', 'id="timings"', 'id="errors"'):
        assert table in body
    assert 'id="volume-figure"' in body and "js/notifications-dashboard.js" in body
    assert "550 5.1.1 mailbox unavailable (2)" in body
    p90 = response.context["report"].timings[0].latency_p90_ms
    assert p90 == pytest.approx(460.0, rel=RELATIVE_ERROR)
    assert "<td>0.3333</td>" in body and f"<td>{p90}</td>" in body
    assert "conversion rate" in body and "converted / clicked." in body
    assert "<th>Dismissed</th>" in body
    report = response.context["report"]
    assert report.totals.deliveries == 14 and report.date_from == DAY_1


def test_dashboard_filters_by_channel_and_links_its_json(client, deliveries, staff):
    client.force_login(staff)
    response = client.get(
        reverse("notifications:dashboard"), {**QUERY, "channel": "sms", "category": ""}
    )
    assert response.context["report"].totals.deliveries == 1
    api = reverse("notifications-api:metrics")
    link = f"{api}?date_from=2024-05-01&amp;date_to=2024-05-03&amp;channel=sms"
    assert f'href="{link}"' in response.content.decode()
    assert client.get(link.replace("&amp;", "&")).json()["totals"]["deliveries"] == 1


def test_dashboard_is_for_staff_only(client, user):
    url = reverse("notifications:dashboard")
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"{reverse('users:login')}?next={url}"
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 403 and b"Not allowed" in response.content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "2024-05-03", "date_to": "2024-05-01"}, "date_from is after date_to."),
        ({"date_from": "2024-01-01", "date_to": "2024-05-01"}, "at most 92"),
        ({"date_to": "not a day"}, "Enter a valid date."),
        ({"category": "gossip"}, "Select a valid choice."),
    ],
)
def test_dashboard_bad_filters_show_a_message(client, staff, query, message):
    client.force_login(staff)
    response = client.get(reverse("notifications:dashboard"), query)
    assert response.status_code == 200
    body = response.content.decode()
    assert "No metrics for these filters" in body and message in body
    assert 'id="funnel"' not in body and response.context["report"] is None

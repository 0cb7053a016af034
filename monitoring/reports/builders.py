"""What each report says, read from the apps' selectors for its period and laid out as an
export document: headline figures, then sections with their tables and charts.

Every figure here is what a selector answers for the period, so a report and the page or
API it summarises agree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone

from analytics import public as analytics_public
from analytics import selectors as analytics_selectors
from monitoring.exports.document import Document, Period, Section
from monitoring.models import Alert
from monitoring.reports import periods
from mysetlist.setlists import selectors as setlists_selectors
from notifications import selectors as notifications_selectors
from predictions import selectors as predictions_selectors

TOP = 10
LAST_MICROSECOND = dt.timedelta(microseconds=1)
FUNNEL_COLUMNS = (
    "deliveries", "sent", "delivered", "opened", "clicked", "converted", "failed", "bounced",
    "delivery_rate", "open_rate", "click_rate", "failure_rate", "latency_p50_ms",
    "latency_p99_ms",
)  # fmt: skip


@dataclass(frozen=True)
class Headline:
    """The figures a report leads with, each read from a selector for the period."""

    new_users: int
    users: int
    active_users: int  # distinct persons active in the period's last day (DAU) ...
    active_users_week: int  # ... in the 7 days ending then (WAU)
    active_users_month: int  # ... in the 30 days ending then (MAU)
    votes: int
    events: int
    alerts_fired: int


def headline(start: dt.datetime, end: dt.datetime) -> Headline:
    """Return the headline figures of [start, end) (whole UTC days)."""
    users = get_user_model().objects
    events = analytics_selectors.event_totals(start=start, end=end)
    last_day = (end - LAST_MICROSECOND).date()
    active = analytics_public.active_users(first_day=last_day, last_day=last_day)[0]
    return Headline(
        new_users=users.filter(date_joined__gte=start, date_joined__lt=end).count(),
        users=users.filter(date_joined__lt=end).count(),
        active_users=active.dau,
        active_users_week=active.wau,
        active_users_month=active.mau,
        votes=events.get("vote_cast", 0),
        events=sum(events.values()),
        alerts_fired=alerts_fired(start, end).count(),
    )


def alerts_fired(start: dt.datetime, end: dt.datetime):
    return Alert.objects.filter(fired_at__gte=start, fired_at__lt=end).select_related("rule")


def _line_chart(title: str, x: list, series: dict[str, list], kind: str = "scatter") -> dict:
    data = [
        {"type": kind, "name": name, "x": x, "y": ys}
        | ({"mode": "lines+markers"} if kind == "scatter" else {})
        for name, ys in series.items()
    ]
    return {
        "data": data,
        "layout": {
            "title": {"text": title},
            "margin": {"t": 40, "r": 10, "b": 40, "l": 50},
            "showlegend": len(data) > 1,
        },
    }


def _headline_section(figures: Headline, start: dt.datetime, end: dt.datetime) -> Section:
    rows = [
        ("New users (signed up)", figures.new_users),
        ("Users at the end", figures.users),
        (f"Active users on {(end - LAST_MICROSECOND).date():%Y-%m-%d} (DAU)", figures.active_users),
        ("Active users, last 7 days (WAU)", figures.active_users_week),
        ("Active users, last 30 days (MAU)", figures.active_users_month),
        ("Votes", figures.votes),
        ("Analytics events", figures.events),
        ("Alerts fired", figures.alerts_fired),
    ]
    return Section("Headline figures", ("figure", "value"), rows, size=len(rows))


def _summary(kind_words: str, figures: Headline) -> tuple[str, ...]:
    return (
        f"{figures.new_users} new users, {figures.users} in all; "
        f"{figures.active_users_week} active in the last 7 days.",
        f"{figures.votes} votes among {figures.events} analytics events.",
        f"{figures.alerts_fired} alert{'s' if figures.alerts_fired != 1 else ''} fired.",
    )


def _trend_section(title: str, event: str, interval: str, start, end) -> Section:
    (series,) = analytics_public.trend(
        event=event, interval=interval, start=start, end=end - LAST_MICROSECOND, limit=1
    )
    rows = [(bucket, count) for bucket, count in series.points]
    chart = _line_chart(title, [b.isoformat() for b, _ in rows], {event: [n for _, n in rows]})
    return Section(title, (f"{interval}_start_utc", event), rows, chart=chart, size=len(rows))


def _events_section(start, end) -> Section:
    totals = analytics_selectors.event_totals(start=start, end=end)
    rows = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    top = rows[:15]
    chart = _line_chart(
        "Events by name", [name for name, _ in top], {"events": [n for _, n in top]}, "bar"
    )
    return Section("Events by name", ("event", "count"), rows, chart=chart, size=len(rows))


def _top(dimension: str, start, end) -> list[tuple[int, int]]:
    series = analytics_public.trend(
        event="vote_cast", interval="day", start=start, end=end - LAST_MICROSECOND,
        breakdown=dimension, limit=TOP,
    )  # fmt: skip
    return [(int(s.breakdown), s.total) for s in series if s.breakdown and s.total]


def top_artists(start, end) -> list[tuple[str, int]]:
    """The artists whose shows got the most votes in [start, end), with their votes."""
    found = _top("artist_id", start, end)
    artists = setlists_selectors.artists_by_id(artist_ids=[pk for pk, _ in found])
    return [(artists[pk].name if pk in artists else f"artist {pk}", n) for pk, n in found]


def top_shows(start, end) -> list[tuple[str, str, str, int]]:
    """The shows that got the most votes in [start, end): show, artist, date, votes."""
    found = _top("show_id", start, end)
    shows = setlists_selectors.shows_describe(show_ids=[pk for pk, _ in found])
    rows = []
    for pk, votes in found:
        about = shows.get(pk, {"artist": "", "date": None})
        rows.append((f"show {pk}", about["artist"], about["date"], votes))
    return rows


def _top_sections(start, end) -> list[Section]:
    artists, shows = top_artists(start, end), top_shows(start, end)
    return [
        Section(
            "Top artists by votes",
            ("artist", "votes"),
            artists,
            chart=_line_chart(
                "Top artists by votes",
                [a for a, _ in artists],
                {"votes": [n for _, n in artists]},
                "bar",
            ),
            size=len(artists),
        ),  # fmt: skip
        Section("Top shows by votes", ("show", "artist", "date", "votes"), shows, size=len(shows)),
    ]


def _alerts_section(start, end) -> Section:
    rows = [
        (a.rule.name, a.rule.severity, a.rule.metric, a.fired_at, a.state, a.value)
        for a in alerts_fired(start, end).order_by("fired_at", "id")
    ]
    return Section(
        "Alerts fired",
        ("rule", "severity", "metric", "fired_at_utc", "state_now", "last_value"),
        rows,
        size=len(rows),
    )


def daily(start: dt.datetime, end: dt.datetime) -> Document:
    """The daily summary: users, votes, events, top artists and shows, alerts fired."""
    figures = headline(start, end)
    return Document(
        title=f"Daily summary, {start:%Y-%m-%d}",
        generated_at=timezone.now(),
        period=Period(start, end),
        summary=_summary("day", figures),
        sections=(
            _headline_section(figures, start, end),
            _trend_section("Votes by hour", "vote_cast", "hour", start, end),
            _events_section(start, end),
            *_top_sections(start, end),
            _alerts_section(start, end),
        ),
    )


RETENTION_WEEKS = 8


def cohorts(start: dt.datetime, end: dt.datetime):
    """Weekly cohorts of the RETENTION_WEEKS weeks up to the period's, by first seen."""
    last_day = (end - LAST_MICROSECOND).date()
    first_day = start.date() - dt.timedelta(weeks=RETENTION_WEEKS - 1)
    return analytics_public.retention(
        period="week", periods=RETENTION_WEEKS, first_day=first_day, last_day=last_day
    )


def weekly(start: dt.datetime, end: dt.datetime) -> Document:
    """Weekly cohorts and retention: who came back each week after first being seen, and
    active users day by day."""
    figures = headline(start, end)
    days = analytics_public.active_users(
        first_day=start.date(), last_day=(end - LAST_MICROSECOND).date()
    )
    active_rows = [(d.day, d.dau, d.wau, d.mau, d.stickiness) for d in days]
    found = cohorts(start, end)
    weeks = [f"week {k}" for k in range(RETENTION_WEEKS)]
    cohort_rows = [
        (c.start, c.size, *(c.returning + [None] * (RETENTION_WEEKS - len(c.returning))))
        for c in found
    ]
    shares = {
        f"cohort of {c.start:%Y-%m-%d}": [
            round(100 * n / c.size, 1) if c.size else None for n in c.returning
        ]
        for c in found[-4:]
    }
    return Document(
        title=f"Weekly cohorts and retention, week of {start:%Y-%m-%d}",
        generated_at=timezone.now(),
        period=Period(start, end),
        summary=_summary("week", figures),
        sections=(
            _headline_section(figures, start, end),
            Section(
                "Active users by day",
                ("day", "dau", "wau", "mau", "stickiness"),
                active_rows,
                chart=_line_chart(
                    "Active users by day",
                    [r[0].isoformat() for r in active_rows],
                    {
                        "DAU": [r[1] for r in active_rows],
                        "WAU": [r[2] for r in active_rows],
                        "MAU": [r[3] for r in active_rows],
                    },
                ),  # fmt: skip
                size=len(active_rows),
            ),
            Section(
                "Weekly retention cohorts (first seen)",
                ("cohort_week", "size", *weeks),
                cohort_rows,
                chart=_line_chart(
                    "Returning, % of cohort, by week since first seen", weeks, shares
                ),
                note="Counts of persons active again in each week after the cohort's own.",
                size=len(cohort_rows),
            ),
        ),
    )


def _funnel_row(label: tuple, totals) -> tuple:
    values = [getattr(totals, name) for name in FUNNEL_COLUMNS]
    return (*label, *values)


def _delivery_section(title: str, by: tuple[str, ...], start, end) -> Section:
    found = notifications_selectors.delivery_totals(start=start, end=end, by=by)
    rows = [_funnel_row(tuple(t.key[name] for name in by), t) for t in found]
    return Section(title, (*by, *FUNNEL_COLUMNS), rows, size=len(rows))


def monthly(start: dt.datetime, end: dt.datetime) -> Document:
    """The monthly review: the month's headline figures, votes by day, events, top artists
    and shows, notifications by channel and the alerts that fired."""
    figures = headline(start, end)
    return Document(
        title=f"Monthly review, {start:%B %Y}",
        generated_at=timezone.now(),
        period=Period(start, end),
        summary=_summary("month", figures),
        sections=(
            _headline_section(figures, start, end),
            _trend_section("Votes by day", "vote_cast", "day", start, end),
            _trend_section("Sign-ups by day", "signed_up", "day", start, end),
            _events_section(start, end),
            *_top_sections(start, end),
            _delivery_section("Notifications by channel", ("channel",), start, end),
            _alerts_section(start, end),
        ),
    )


def notification_totals(start, end):
    """The period's delivery totals, all channels together."""
    found = notifications_selectors.delivery_totals(start=start, end=end)
    return found[0] if found else None


def notifications(start: dt.datetime, end: dt.datetime) -> Document:
    """The notification report: delivery, engagement and performance by channel, category,
    template, experiment variant and provider, sends by day, and what recommendations
    push now."""
    totals = notification_totals(start, end)
    by_day = notifications_selectors.delivery_totals(start=start, end=end, every="day")
    day_rows = [(t.key["bucket"], t.deliveries, t.sent, t.opened, t.clicked) for t in by_day]
    graph = predictions_selectors.artist_graph_get()
    trending = sorted(graph.trending.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    trending_rows = [
        (graph.names.get(pk, f"artist {pk}"), round(score, 4)) for pk, score in trending
    ]
    summary = ("No notification was delivered in this period.",)
    headline_rows = []
    if totals is not None:
        headline_rows = [(name, getattr(totals, name)) for name in FUNNEL_COLUMNS]
        summary = (
            f"{totals.deliveries} deliveries: {totals.sent} sent, {totals.delivered} delivered, "
            f"{totals.opened} opened, {totals.clicked} clicked, {totals.converted} converted.",
            f"Failure rate {_percent(totals.failure_rate)}; open rate "
            f"{_percent(totals.open_rate)}; click rate {_percent(totals.click_rate)}.",
        )
    return Document(
        title=f"Notification report, week of {start:%Y-%m-%d}",
        generated_at=timezone.now(),
        period=Period(start, end),
        summary=summary,
        sections=(
            Section("Delivery totals", ("figure", "value"), headline_rows, size=len(headline_rows)),
            Section(
                "Deliveries by day",
                ("day_utc", "deliveries", "sent", "opened", "clicked"),
                day_rows,
                chart=_line_chart(
                    "Deliveries by day",
                    [r[0].isoformat() for r in day_rows],
                    {
                        "sent": [r[2] for r in day_rows],
                        "opened": [r[3] for r in day_rows],
                        "clicked": [r[4] for r in day_rows],
                    },
                ),  # fmt: skip
                size=len(day_rows),
            ),
            _delivery_section("By channel", ("channel",), start, end),
            _delivery_section("By category", ("category",), start, end),
            _delivery_section("By template version", ("category", "template_version"), start, end),
            _delivery_section("By experiment variant", ("experiment", "variant"), start, end),
            _delivery_section("By provider", ("provider",), start, end),
            Section(
                "Recommendations: trending artists now",
                ("artist", "trending_score"),
                trending_rows,
                note="The trending part of recommendations (votes in the last "
                f"{predictions_selectors.TRENDING_DAYS} days, scaled to 0-1), as of generation.",
                size=len(trending_rows),
            ),
        ),
    )


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}%"


BUILDERS = {
    periods.DAILY: daily,
    periods.WEEKLY: weekly,
    periods.MONTHLY: monthly,
    periods.NOTIFICATIONS: notifications,
}

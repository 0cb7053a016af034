"""How notifications go: volume by day, a send-to-conversion funnel by channel, category and
template, latencies by channel, and errors by provider, over a window of UTC days.

Read from the day rollups (notifications.metrics.rollups), so the cost follows the days
asked for, not the deliveries in them; only the notifications made each day and the most
common error texts are read from their own rows. Three queries, however many rows.
"""

import datetime as dt
from collections import defaultdict

from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.functions import Substr, TruncDate

from mysetlist.core.exceptions import ApplicationError
from notifications.metrics.histogram import RELATIVE_ERROR, histogram_merge, histogram_percentile
from notifications.metrics.results import (
    COUNTS,
    CategoryFunnel,
    ChannelFunnel,
    ChannelTimings,
    DayVolume,
    DeliveryMetrics,
    Funnel,
    ProviderErrors,
    ResponseCount,
    TemplateFunnel,
)
from notifications.models import Category, Channel, Delivery, DeliveryRollup, Notification

DEFAULT_DAYS = 7
MAX_DAYS = 92
EARLIEST_DAY, LATEST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
TOP_RESPONSES = 5
RESPONSE_CHARS = 200
DEFAULT_TEMPLATE = "default"

S = Delivery.Status

DEFINITIONS = (
    ("window", f"From 00:00 UTC of date_from to the end of date_to (UTC); default the last "
               f"{DEFAULT_DAYS} days, at most {MAX_DAYS} days. Each figure counts what "
               f"happened in the window, at its own time (below)."),
    ("notifications", "Notifications created that day (with a channel filter: those with a "
                      "delivery on that channel)."),
    ("deliveries", "Deliveries created in the window, whatever became of them."),
    ("sent", "Handed to the channel in the window (at sent_at; an in-app delivery is "
             "delivered when stored, which is its send)."),
    ("delivered", "Delivered in the window: status delivered (at delivered_at), or status "
                  "sent with an open recorded (at the open: it proves delivery when the "
                  "provider never reported it); a bounce is not delivered."),
    ("failed / bounced / skipped", "Rows created in the window in that status now (these "
                                   "have no time of their own); pending: still queued or "
                                   "held."),
    ("opened / clicked / converted / dismissed", "opened_at / clicked_at / converted_at in "
                                                 "the window; dismissed: in-app "
                                                 "notifications dismissed in the window."),
    ("delivery rate", "delivered / sent."),
    ("open rate", "opened / delivered."),
    ("click rate", "clicked / delivered."),
    ("conversion rate", "converted / clicked."),
    ("rates", "A share from 0 to 1, rounded to 4 places; null when its denominator is 0. "
              "Outcomes count at their own times, so a rate over a short window can pass 1."),
    ("latency", f"latency_ms, from due (not_before) to handed over, of the rows sent in the "
                f"window; render: render_ms. Percentiles linear between the two nearest "
                f"values, read from histograms within {RELATIVE_ERROR:.1%} of the value."),
    ("time to open / click", "Median of opened_at - sent_at and clicked_at - sent_at, in "
                             "seconds, of the opens and clicks in the window."),
    ("errors by provider", f"Failed and bounced rows created in the window, per provider "
                           f"(empty: failed before reaching one), with the {TOP_RESPONSES} "
                           f"most common responses, cut to {RESPONSE_CHARS} characters."),
    ("freshness", "Rollups re-roll the last minutes every minute and the last two days "
                  "every hour: statuses that change long after a row was created are exact "
                  "within the hour."),
)  # fmt: skip


def window_with_defaults(
    *, date_from: dt.date | None, date_to: dt.date | None, today: dt.date
) -> tuple[dt.date, dt.date]:
    """Return the window asked for, the missing ends filled in: up to today, 7 days long."""
    date_to = date_to or (today if date_from is None else max(today, date_from))
    return date_from or date_to - dt.timedelta(days=DEFAULT_DAYS - 1), date_to


def window_problems(*, date_from: dt.date, date_to: dt.date) -> dict[str, str]:
    """Return what is wrong with a window, field by field; empty when it is fine."""
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            return {name: f"Use a day from {EARLIEST_DAY} to {LATEST_DAY}."}
    if date_from > date_to:
        return {"date_from": "date_from is after date_to."}
    days = (date_to - date_from).days + 1
    if days > MAX_DAYS:
        return {"date_to": f"The window spans {days} days; at most {MAX_DAYS}."}
    return {}


def _deliveries(
    *, start: dt.datetime, end: dt.datetime, channel: str | None, category: str | None
) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(created_at__gte=start, created_at__lt=end)
    if channel:
        deliveries = deliveries.filter(channel=channel)
    if category:
        deliveries = deliveries.filter(notification__category=category)
    return deliveries.order_by()


def _cells(*, start, end, channel, category) -> list[DeliveryRollup]:
    """The day rollups of the window: a few hundred rows a day, however many deliveries."""
    cells = DeliveryRollup.objects.filter(granularity="day", bucket__gte=start, bucket__lt=end)
    if channel:
        cells = cells.filter(channel=channel)
    if category:
        cells = cells.filter(category=category)
    return list(cells.order_by())


def _volume(cells, *, start, end, channel, category) -> tuple[DayVolume, ...]:
    notifications = Notification.objects.filter(created_at__gte=start, created_at__lt=end)
    if category:
        notifications = notifications.filter(category=category)
    if channel:  # one delivery per channel at most: the join adds no rows
        notifications = notifications.filter(deliveries__channel=channel)
    made = dict(
        notifications.order_by()
        .values_list(TruncDate("created_at", tzinfo=dt.UTC))
        .annotate(Count("id"))
    )
    sent: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cell in cells:
        sent[cell.bucket.astimezone(dt.UTC).date()][cell.channel] += cell.deliveries
    channels = [channel] if channel else Channel.values
    days = []
    for offset in range((end - start).days):
        day = start.date() + dt.timedelta(days=offset)
        by_channel = {on: sent[day].get(on, 0) for on in channels}
        days.append(DayVolume(day, made.get(day, 0), sum(by_channel.values()), by_channel))
    return tuple(days)


def _order(values: list[str]) -> dict[str, int]:
    return {value: n for n, value in enumerate(values)}


def _funnels(cells) -> tuple[Funnel, tuple, tuple, tuple]:
    """Return the totals and the funnel by channel, by category and by template."""
    zero = dict.fromkeys(COUNTS, 0)
    totals = dict(zero)
    by = {"channel": {}, "category": {}, "template": {}}
    for cell in cells:
        keys = {
            "channel": cell.channel,
            "category": cell.category,
            "template": (cell.category, cell.template_version),
        }
        for name, key in keys.items():
            counts = by[name].setdefault(key, dict(zero))
            for count in COUNTS:
                counts[count] += getattr(cell, count)
        for count in COUNTS:
            totals[count] += getattr(cell, count)
    channels, categories = _order(Channel.values), _order(Category.values)
    by_channel = sorted(by["channel"].items(), key=lambda item: channels.get(item[0], 99))
    by_category = sorted(by["category"].items(), key=lambda item: categories.get(item[0], 99))
    by_template = sorted(
        by["template"].items(), key=lambda item: (categories.get(item[0][0], 99), item[0][1])
    )
    return (
        Funnel(**totals),
        tuple(ChannelFunnel(channel=key, **counts) for key, counts in by_channel),
        tuple(CategoryFunnel(category=key, **counts) for key, counts in by_category),
        tuple(
            TemplateFunnel(
                category=category,
                template_version=str(version) if version else DEFAULT_TEMPLATE,
                **counts,
            )
            for (category, version), counts in by_template
        ),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


TIMINGS = {
    "latency_p50_ms": ("latency_ms", 0.5),
    "latency_p90_ms": ("latency_ms", 0.9),
    "latency_p99_ms": ("latency_ms", 0.99),
    "render_p50_ms": ("render_ms", 0.5),
    "render_p99_ms": ("render_ms", 0.99),
    "open_median_s": ("open_s", 0.5),
    "click_median_s": ("click_s", 0.5),
}


def _timings(cells) -> tuple[ChannelTimings, ...]:
    """Percentiles by channel from the merged histograms of its cells."""
    merged: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    for cell in cells:
        for name in ("latency_ms", "render_ms", "open_s", "click_s"):
            merged[cell.channel][name] = histogram_merge(
                (merged[cell.channel][name], getattr(cell, name))
            )
    channels = _order(Channel.values)
    return tuple(
        ChannelTimings(
            channel,
            **{
                field: _rounded(histogram_percentile(merged[channel][name], share))
                for field, (name, share) in TIMINGS.items()
            },
        )
        for channel in sorted(merged, key=lambda channel: channels.get(channel, 99))
    )


def _errors(cells, deliveries) -> tuple[ProviderErrors, ...]:
    failures: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for cell in cells:
        if cell.failed or cell.bounced:
            failures[cell.provider][0] += cell.failed
            failures[cell.provider][1] += cell.bounced
    bad = deliveries.filter(status__in=[S.FAILED, S.BOUNCED])
    # The most common texts of each provider, ranked in the database: a provider that puts ids
    # in its errors has as many texts as failures. (Django groups by a window function put next
    # to an aggregate, so the ranking wraps the grouped query.)
    grouped = (
        bad.exclude(response="")
        .annotate(response_text=Substr("response", 1, RESPONSE_CHARS))
        .values("provider", "response_text")
        .annotate(times=Count("id"))
    )
    sql, params = grouped.query.sql_with_params()
    name, text, times = map(connection.ops.quote_name, ("provider", "response_text", "times"))
    ranked = (
        f"SELECT {name}, {text}, {times}, place FROM ("
        f" SELECT grouped.*, ROW_NUMBER() OVER ("
        f"  PARTITION BY {name} ORDER BY {times} DESC, {text}) AS place"
        f" FROM ({sql}) grouped) ranked WHERE place <= %s"
    )
    responses: dict[str, list[tuple[int, ResponseCount]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(ranked, [*params, TOP_RESPONSES])
        for provider, response_text, count, place in cursor.fetchall():
            responses[provider].append((place, ResponseCount(response_text, count)))
    errors = [
        ProviderErrors(
            provider, failed, bounced, tuple(found for _, found in sorted(responses[provider]))
        )
        for provider, (failed, bounced) in failures.items()
    ]
    return tuple(sorted(errors, key=lambda e: (-e.total, e.provider)))


def delivery_metrics(
    *,
    date_from: dt.date,
    date_to: dt.date,
    channel: str | None = None,
    category: str | None = None,
) -> DeliveryMetrics:
    """Return volume, funnels, timings and errors of the deliveries created from the start
    of `date_from` to the end of `date_to` (UTC days), of one channel and category if given.
    Six queries, however many rows."""
    problems = window_problems(date_from=date_from, date_to=date_to)
    if problems:
        raise ApplicationError(
            next(iter(problems.values())),
            extra={"fields": {name: [message] for name, message in problems.items()}},
        )
    start = dt.datetime.combine(date_from, dt.time(), dt.UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
    cells = _cells(start=start, end=end, channel=channel, category=category)
    deliveries = _deliveries(start=start, end=end, channel=channel, category=category)
    totals, by_channel, by_category, by_template = _funnels(cells)
    return DeliveryMetrics(
        date_from=date_from,
        date_to=date_to,
        channel=channel,
        category=category,
        totals=totals,
        volume=_volume(cells, start=start, end=end, channel=channel, category=category),
        by_channel=by_channel,
        by_category=by_category,
        by_template=by_template,
        timings=_timings(cells),
        errors=_errors(cells, deliveries),
    )

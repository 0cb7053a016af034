"""How notifications go: volume by day, a send-to-conversion funnel by channel, category and
template, latencies by channel, and errors by provider, over a window of UTC days.

Counts come from one GROUP BY each (the funnel is grouped once at its finest grain, channel x
category x template, and summed up here), so the number of queries does not grow with the data.
"""

import datetime as dt
from collections import defaultdict

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Func, Q, QuerySet
from django.db.models.functions import Substr, TruncDate

from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.stats import percentile
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
from notifications.models import Category, Channel, Delivery, Notification

DEFAULT_DAYS = 7
MAX_DAYS = 92
EARLIEST_DAY, LATEST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
TOP_RESPONSES = 5
RESPONSE_CHARS = 200
DEFAULT_TEMPLATE = "default"

S = Delivery.Status
# A sent row that was opened reached its reader even when the provider never said
# "delivered"; a bounce takes a delivery back.
DELIVERED = Q(status=S.DELIVERED) | Q(status=S.SENT, opened_at__isnull=False)
# An in-app row is delivered the moment it is stored: delivered counts as sent.
SENT = Q(sent_at__isnull=False) | DELIVERED

DEFINITIONS = (
    ("window", f"Deliveries created from 00:00 UTC of date_from to the end of date_to (UTC); "
               f"default the last {DEFAULT_DAYS} days, at most {MAX_DAYS} days."),
    ("notifications", "Notifications created that day (with a channel filter: those with a "
                      "delivery on that channel)."),
    ("deliveries", "Deliveries created in the window, whatever became of them."),
    ("sent", "Handed to the channel: sent_at is set, or the row is delivered (an in-app "
             "delivery is delivered when stored, which is its send)."),
    ("delivered", "Status delivered, or status sent with an open recorded (an open proves "
                  "delivery when the provider never reported it); a bounce is not delivered."),
    ("failed / bounced / skipped", "Rows in that status now; pending: still queued or held."),
    ("opened / clicked / converted", "opened_at / clicked_at / converted_at is set."),
    ("delivery rate", "delivered / sent."),
    ("open rate", "opened / delivered."),
    ("click rate", "clicked / delivered."),
    ("conversion rate", "converted / clicked."),
    ("rates", "A share from 0 to 1, rounded to 4 places; null when its denominator is 0."),
    ("latency", "latency_ms, from due (not_before) to handed over; render: render_ms. "
                "Continuous percentiles (PostgreSQL's percentile_cont: linear between the two "
                "nearest values) over the rows that have the value."),
    ("time to open / click", "Median of opened_at - sent_at and clicked_at - sent_at, in "
                             "seconds, over rows with both times."),
    ("errors by provider", f"Failed and bounced rows per provider (empty: failed before "
                           f"reaching one) with the {TOP_RESPONSES} most common responses, "
                           f"cut to {RESPONSE_CHARS} characters."),
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


class PercentileCont(Aggregate):
    """percentile_cont(share) WITHIN GROUP (ORDER BY expression): PostgreSQL only."""

    function = "percentile_cont"
    template = "%(function)s(%(share)r) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, share: float, **extra):
        super().__init__(expression, share=float(share), **extra)


class Seconds(Func):
    """The seconds of a PostgreSQL interval."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


def _deliveries(
    *, start: dt.datetime, end: dt.datetime, channel: str | None, category: str | None
) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(created_at__gte=start, created_at__lt=end)
    if channel:
        deliveries = deliveries.filter(channel=channel)
    if category:
        deliveries = deliveries.filter(notification__category=category)
    return deliveries.order_by()


def _volume(deliveries, *, start, end, channel, category) -> tuple[DayVolume, ...]:
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
    sent: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for day, on, count in (
        deliveries.values_list(TruncDate("created_at", tzinfo=dt.UTC), "channel")
        .annotate(Count("id"))
    ):  # fmt: skip
        sent[day][on] = count
    channels = [channel] if channel else Channel.values
    days = []
    for offset in range((end - start).days):
        day = start.date() + dt.timedelta(days=offset)
        by_channel = {on: sent[day].get(on, 0) for on in channels}
        days.append(DayVolume(day, made.get(day, 0), sum(by_channel.values()), by_channel))
    return tuple(days)


def _order(values: list[str]) -> dict[str, int]:
    return {value: n for n, value in enumerate(values)}


def _funnels(deliveries) -> tuple[Funnel, tuple, tuple, tuple]:
    """Return the totals and the funnel by channel, by category and by template."""
    rows = deliveries.values("channel", "notification__category", "template_version").annotate(
        deliveries=Count("id"),
        sent=Count("id", filter=SENT),
        delivered=Count("id", filter=DELIVERED),
        failed=Count("id", filter=Q(status=S.FAILED)),
        bounced=Count("id", filter=Q(status=S.BOUNCED)),
        skipped=Count("id", filter=Q(status=S.SKIPPED)),
        pending=Count("id", filter=Q(status__in=[S.QUEUED, S.HELD])),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        converted=Count("id", filter=Q(converted_at__isnull=False)),
    )
    zero = dict.fromkeys(COUNTS, 0)
    totals = dict(zero)
    by = {"channel": {}, "category": {}, "template": {}}
    for row in rows:
        version = row["template_version"]
        keys = {
            "channel": row["channel"],
            "category": row["notification__category"],
            "template": (row["notification__category"], version),
        }
        for name, key in keys.items():
            counts = by[name].setdefault(key, dict(zero))
            for count in COUNTS:
                counts[count] += row[count]
        for count in COUNTS:
            totals[count] += row[count]
    channels, categories = _order(Channel.values), _order(Category.values)
    by_channel = sorted(by["channel"].items(), key=lambda item: channels.get(item[0], 99))
    by_category = sorted(by["category"].items(), key=lambda item: categories.get(item[0], 99))
    by_template = sorted(
        by["template"].items(),
        key=lambda item: (categories.get(item[0][0], 99), item[0][1] or 0),
    )
    return (
        Funnel(**totals),
        tuple(ChannelFunnel(channel=key, **counts) for key, counts in by_channel),
        tuple(CategoryFunnel(category=key, **counts) for key, counts in by_category),
        tuple(
            TemplateFunnel(
                category=category,
                template_version=DEFAULT_TEMPLATE if version is None else str(version),
                **counts,
            )
            for (category, version), counts in by_template
        ),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _timings_postgresql(deliveries) -> dict[str, dict]:
    rows = deliveries.values("channel").annotate(
        latency_p50_ms=PercentileCont("latency_ms", 0.5),
        latency_p90_ms=PercentileCont("latency_ms", 0.9),
        latency_p99_ms=PercentileCont("latency_ms", 0.99),
        render_p50_ms=PercentileCont("render_ms", 0.5),
        render_p99_ms=PercentileCont("render_ms", 0.99),
        open_median_s=PercentileCont(Seconds(F("opened_at") - F("sent_at")), 0.5),
        click_median_s=PercentileCont(Seconds(F("clicked_at") - F("sent_at")), 0.5),
    )
    return {row.pop("channel"): row for row in rows}


def _timings_in_python(deliveries) -> dict[str, dict]:
    values: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    rows = deliveries.values_list(
        "channel", "latency_ms", "render_ms", "sent_at", "opened_at", "clicked_at"
    )
    for channel, latency, render, sent_at, opened_at, clicked_at in rows:
        found = values[channel]
        if latency is not None:
            found["latency"].append(latency)
        if render is not None:
            found["render"].append(render)
        if sent_at and opened_at:
            found["open"].append((opened_at - sent_at).total_seconds())
        if sent_at and clicked_at:
            found["click"].append((clicked_at - sent_at).total_seconds())
    return {
        channel: {
            "latency_p50_ms": percentile(found["latency"], 0.5),
            "latency_p90_ms": percentile(found["latency"], 0.9),
            "latency_p99_ms": percentile(found["latency"], 0.99),
            "render_p50_ms": percentile(found["render"], 0.5),
            "render_p99_ms": percentile(found["render"], 0.99),
            "open_median_s": percentile(found["open"], 0.5),
            "click_median_s": percentile(found["click"], 0.5),
        }
        for channel, found in values.items()
    }


def _timings(deliveries) -> tuple[ChannelTimings, ...]:
    if connection.vendor == "postgresql":
        found = _timings_postgresql(deliveries)
    else:  # no percentile_cont: the same sums over the values, read once
        found = _timings_in_python(deliveries)
    channels = _order(Channel.values)
    return tuple(
        ChannelTimings(channel, **{name: _rounded(value) for name, value in found[channel].items()})
        for channel in sorted(found, key=lambda channel: channels.get(channel, 99))
    )


def _errors(deliveries) -> tuple[ProviderErrors, ...]:
    bad = deliveries.filter(status__in=[S.FAILED, S.BOUNCED])
    totals = bad.values_list("provider").annotate(
        failed=Count("id", filter=Q(status=S.FAILED)),
        bounced=Count("id", filter=Q(status=S.BOUNCED)),
    )
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
        for provider, failed, bounced in totals
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
    deliveries = _deliveries(start=start, end=end, channel=channel, category=category)
    totals, by_channel, by_category, by_template = _funnels(deliveries)
    return DeliveryMetrics(
        date_from=date_from,
        date_to=date_to,
        channel=channel,
        category=category,
        totals=totals,
        volume=_volume(deliveries, start=start, end=end, channel=channel, category=category),
        by_channel=by_channel,
        by_category=by_category,
        by_template=by_template,
        timings=_timings(deliveries),
        errors=_errors(deliveries),
    )

"""Any metric as an export: a figure of the catalog, or an analytics event's count, as a
series over a range at an interval (per minute, hour or day; events also per week or month).

`metric_document` checks everything it can before a row is read (the metric, the range, the
interval, how far back the figure's data is kept, how many rows there would be) and raises
ApplicationError for what is wrong; the rows themselves are read lazily, bucket by bucket,
as the writer asks for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from analytics import public as analytics_public
from monitoring import catalog
from monitoring.exports.document import Document, Period, Section
from mysetlist.core.buckets import bucket_start
from mysetlist.core.exceptions import ApplicationError

EVENT_PREFIX = "event:"
FIGURE_INTERVALS = ("minute", "hour", "day")
EVENT_INTERVALS = ("minute", "hour", "day", "week", "month")
STEP = {
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
}
# Each bucket of a figure is one read of it: more than this is refused, whatever the format.
MAX_FIGURE_ROWS = 50_000
# An event trend is read in one query per this many buckets (its reader's own limit).
EVENT_CHUNK = 1000
MAX_EVENT_ROWS = 200_000

# Where each figure of the catalog reads from, for how far back it can be exported.
LIVE_STORE = "live"  # monitoring's per-minute store in Redis
ANALYTICS_MINUTES = "analytics_minutes"  # analytics' minute rollups
ROLLUP_RUNS = "rollup_runs"
NOTIFICATION_MINUTES = "notification_minutes"
SOURCES = {
    "votes_per_minute": ANALYTICS_MINUTES,
    "events_per_minute": ANALYTICS_MINUTES,
    "ingestion_lag_ms": ROLLUP_RUNS,
    "notification_deliveries_per_minute": NOTIFICATION_MINUTES,
    "notification_failure_rate": NOTIFICATION_MINUTES,
}
NOTIFICATION_MINUTES_DAYS = 35  # notifications.rollups_prune keeps minute rows this long
AHEAD = dt.timedelta(days=2)  # how far past now a range may end (nothing is there yet)


def _kept_for(key: str) -> dt.timedelta | None:
    """How far back a figure's data is kept (None: no limit is known)."""
    source = SOURCES.get(key, LIVE_STORE)
    kept = settings.ANALYTICS_AGGREGATE_RETENTION_DAYS
    if source == LIVE_STORE:
        return dt.timedelta(seconds=settings.MONITORING_MINUTES_TTL)
    if source == ANALYTICS_MINUTES:
        return dt.timedelta(days=kept["rollups_minute"]) if kept["rollups_minute"] else None
    if source == ROLLUP_RUNS:
        return dt.timedelta(days=kept["rollup_runs"]) if kept["rollup_runs"] else None
    return dt.timedelta(days=NOTIFICATION_MINUTES_DAYS)


def _event_kept_for(interval: str) -> dt.timedelta | None:
    days = settings.ANALYTICS_AGGREGATE_RETENTION_DAYS.get(
        {"minute": "rollups_minute", "hour": "rollups_hour"}.get(interval, "rollups_day")
    )
    return dt.timedelta(days=days) if days else None


def _bad(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, {"fields": {field: [message]}})


@dataclass(frozen=True)
class MetricSpec:
    """An export of one metric: what, from when to when (UTC, end exclusive), by what."""

    metric: str
    start: dt.datetime
    end: dt.datetime
    interval: str

    def as_dict(self) -> dict:
        return {
            "metric": self.metric,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "interval": self.interval,
        }

    @classmethod
    def from_dict(cls, data: dict) -> MetricSpec:
        return cls(
            metric=data["metric"],
            start=dt.datetime.fromisoformat(data["start"]),
            end=dt.datetime.fromisoformat(data["end"]),
            interval=data["interval"],
        )


def _range_check(spec: MetricSpec, kept: dt.timedelta | None, what: str) -> None:
    if spec.start.tzinfo is None or spec.end.tzinfo is None:
        raise _bad("start and end must carry a time zone (UTC: a trailing Z).", "start")
    if spec.end <= spec.start:
        raise _bad("end must come after start.", "end")
    now = timezone.now()
    if spec.end > now + AHEAD:
        raise _bad(f"end may be {_words(AHEAD)} from now at most.", "end")
    if kept is not None and spec.start < now - kept:
        raise _bad(
            f"{what} is kept for {_words(kept)}: start must be after "
            f"{(now - kept):%Y-%m-%d %H:%M} UTC.",
            "start",
        )


def _words(span: dt.timedelta) -> str:
    if span >= dt.timedelta(days=2):
        return f"{span.days} days"
    return f"{round(span.total_seconds() / 3600)} hours"


def _buckets(start: dt.datetime, end: dt.datetime, interval: str) -> Iterator[dt.datetime]:
    current = bucket_start(start, interval)
    while current < end:
        yield current
        current += STEP[interval]


def _bucket_count(start: dt.datetime, end: dt.datetime, interval: str) -> int:
    first = bucket_start(start, interval)
    return -(-(end - first) // STEP[interval])


def _figure_rows(figure: catalog.Figure, spec: MetricSpec) -> Iterator[tuple]:
    for bucket in _buckets(spec.start, spec.end, spec.interval):
        start = max(bucket, spec.start)
        end = min(bucket + STEP[spec.interval], spec.end)
        value = figure.read(start, end)
        yield (bucket, None if value is None else round(float(value), 4))


def _figure_document(spec: MetricSpec, figure: catalog.Figure) -> Document:
    if spec.interval not in FIGURE_INTERVALS:
        raise _bad(
            f"A figure goes by {', '.join(FIGURE_INTERVALS)}; not {spec.interval!r}.", "interval"
        )
    _range_check(spec, _kept_for(figure.key), figure.name)
    size = _bucket_count(spec.start, spec.end, spec.interval)
    if size > MAX_FIGURE_ROWS:
        raise _bad(
            f"That is {size:,} {spec.interval}s; an export holds at most {MAX_FIGURE_ROWS:,}: "
            "choose a coarser interval or a shorter range.",
            "interval",
        )
    column = f"{figure.name} ({figure.unit})"
    return Document(
        title=f"{figure.name} by {spec.interval}",
        generated_at=timezone.now(),
        period=Period(spec.start, spec.end),
        sections=(
            Section(
                title=figure.key,
                columns=("bucket_start_utc", column),
                rows=_figure_rows(figure, spec),
                chart_kind="line",
                note=f"Each row is the figure over its {spec.interval} (the range's part of it).",
                size=size,
            ),
        ),
    )


def _event_rows_chunked(event: str, spec: MetricSpec) -> Iterator[tuple]:
    """The trend of at most EVENT_CHUNK buckets a read, as its reader allows."""
    last = spec.end - dt.timedelta(microseconds=1)
    if spec.interval in STEP:
        start = bucket_start(spec.start, spec.interval)
        while start <= last:
            stop = min(start + STEP[spec.interval] * (EVENT_CHUNK - 1), last)
            (series,) = analytics_public.trend(
                event=event, interval=spec.interval, start=start, end=stop, limit=1
            )
            yield from series.points
            start = series.points[-1][0] + STEP[spec.interval]
    else:  # weeks and months: a few hundred at most in any range an export allows
        (series,) = analytics_public.trend(
            event=event, interval=spec.interval, start=spec.start, end=last, limit=1
        )
        yield from series.points


def _event_document(spec: MetricSpec) -> Document:
    event = spec.metric[len(EVENT_PREFIX) :]
    if not event:
        raise _bad("Name the event after event: (event:vote_cast, say).", "metric")
    if spec.interval not in EVENT_INTERVALS:
        raise _bad(
            f"An event goes by {', '.join(EVENT_INTERVALS)}; not {spec.interval!r}.", "interval"
        )
    _range_check(spec, _event_kept_for(spec.interval), f"Events by {spec.interval}")
    if spec.interval in STEP:
        size = _bucket_count(spec.start, spec.end, spec.interval)
        if size > MAX_EVENT_ROWS:
            raise _bad(
                f"That is {size:,} {spec.interval}s; an export holds at most "
                f"{MAX_EVENT_ROWS:,}: choose a coarser interval or a shorter range.",
                "interval",
            )
    else:
        size = None
        if spec.end - spec.start > dt.timedelta(days=3660):
            raise _bad("Weeks and months go back ten years at most.", "start")
    return Document(
        title=f"{event} events by {spec.interval}",
        generated_at=timezone.now(),
        period=Period(spec.start, spec.end),
        sections=(
            Section(
                title=spec.metric,
                columns=("bucket_start_utc", "count"),
                rows=_event_rows_chunked(event, spec),
                chart_kind="bar" if spec.interval in ("week", "month") else "line",
                note="Counted in analytics' rollups; buckets are whole UTC "
                f"{spec.interval}s (the first and last may reach outside the range).",
                size=size,
            ),
        ),
    )


def metric_document(spec: MetricSpec) -> Document:
    """Return the export of a metric: `event:<name>` for an analytics event's count, else
    the key of a figure of the catalog. ApplicationError for an unknown metric, a bad range
    or interval, a range older than its data is kept, or too many rows."""
    if spec.metric.startswith(EVENT_PREFIX):
        return _event_document(spec)
    try:
        figure = catalog.figure_get(spec.metric)
    except ApplicationError as exc:
        raise ApplicationError(
            f"{exc.message} Or event:<name> for an analytics event's count.", exc.extra
        ) from None
    return _figure_document(spec, figure)


def metric_choices() -> list[dict]:
    """Every figure a metric export may name, with its words and unit."""
    return [{"key": f.key, "name": f.name, "unit": f.unit} for f in catalog.figures()]

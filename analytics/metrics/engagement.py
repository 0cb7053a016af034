"""How visits go: sessions, paths between pages, Core Web Vitals. From raw events."""

import datetime as dt
from collections import Counter, defaultdict

from django.db.models.fields.json import KT

from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.stats import percentile

from ..models import Event
from ..rollups import events_with_person
from ..sessions import Session, SessionSummary, page_transitions, sessionize, summarize
from .trends import RAW_BREAKDOWN_MAX_DAYS


def _raw_range(start: dt.datetime, end: dt.datetime) -> None:
    if end < start or end - start > dt.timedelta(days=RAW_BREAKDOWN_MAX_DAYS):
        raise ApplicationError(
            f"Use a range of at most {RAW_BREAKDOWN_MAX_DAYS} days.",
            {"fields": {"date_to": ["Out of range."]}},
        )


def _sessions(start: dt.datetime, end: dt.datetime) -> list[Session]:
    events = events_with_person(Event.objects.filter(timestamp__gte=start, timestamp__lte=end))
    rows = events.annotate(path=KT("properties__path")).order_by("person", "timestamp")
    streams: dict[str, list] = defaultdict(list)
    for person, moment, name, path in rows.values_list("person", "timestamp", "event", "path"):
        streams[person].append((moment, name, path))
    return [session for stream in streams.values() for session in sessionize(stream)]


def session_summary(*, start: dt.datetime, end: dt.datetime) -> SessionSummary:
    """Sessions are a person's events with no gap over 30 minutes. Their number; mean and
    median length (first to last event, seconds); page views per session; and bounce rate,
    the share of sessions with one page view and nothing else but passive tracker events."""
    _raw_range(start, end)
    return summarize(_sessions(start, end))


def paths(
    *, start: dt.datetime, end: dt.datetime, page: str | None = None, direction: str = "next",
    limit: int = 10,
) -> list[tuple[str, str, int]]:  # fmt: skip
    """The most frequent moves between consecutive page views within sessions: from `page` to
    the next page (or, with direction "previous", into it), or among all pages."""
    _raw_range(start, end)
    pairs = page_transitions(_sessions(start, end))
    if page is not None:
        side = 0 if direction == "next" else 1
        pairs = Counter({pair: n for pair, n in pairs.items() if pair[side] == page})
    ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(a, b, n) for (a, b), n in ranked]


VITALS = ("lcp", "inp", "cls", "ttfb")


def web_vitals(*, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """Per page path, the 75th percentile (linear between ranks) of each Core Web Vital the
    tracker measured there: LCP, INP and TTFB in milliseconds, CLS unitless; and how many
    samples."""
    _raw_range(start, end)
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    rows = Event.objects.filter(event="$web_vitals", timestamp__gte=start, timestamp__lte=end)
    for properties in rows.values_list("properties", flat=True):
        page = properties.get("path") or ""
        for vital in VITALS:
            value = properties.get(vital)
            if isinstance(value, int | float) and not isinstance(value, bool):
                samples[page][vital].append(float(value))
    return [
        {
            "path": page,
            "samples": max(len(values) for values in vitals.values()),
            **{f"{vital}_p75": percentile(vitals.get(vital, []), 0.75) for vital in VITALS},
        }
        for page, vitals in sorted(samples.items())
    ]

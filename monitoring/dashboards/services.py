"""Computing dashboards: each widget's answer drawn as its page shows it, kept in the cache
for as long as its buckets stay the same, and the job that recomputes the dashboards staff
have open and broadcasts them to those pages, so no page polls the database.

Reads are cached per widget (its query, range and last edit make the key) for a time that
fits its buckets: a minute chart for 50 seconds, an hourly one for five minutes, a daily
one for fifteen. A page load reads the cache and computes only what is missing; the minute
job computes the minute widgets of open pages every time, so what they show is at most a
minute old.

Open pages are recorded in the cache with a short expiry, renewed by their sockets every
minute; the index of them is a read-modify-write, so two pages opened in the same instant
may leave one out of it until its socket renews (a minute at most)."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from monitoring.dashboards import queries, ranges
from monitoring.dashboards.models import Dashboard, Widget
from monitoring.dashboards.results import draw, drawing_table
from monitoring.exports.document import Document, Section
from mysetlist.core import tiered_cache
from mysetlist.core.broadcast import broadcast_many
from mysetlist.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

FRESH_SECONDS = {"minute": 50, "hour": 300, "day": 900, "week": 900, "month": 900}
LAST_SECONDS = 7 * 24 * 3600  # a widget's last drawing, shown while a new one is computed
WATCH_SECONDS = 150  # an open page says it is open every minute; two missed, it is gone
EVENT_TYPE = "dashboard.update"


def dashboard_group(dashboard_id: int, range_key: str = "") -> str:
    return f"dashboard.{dashboard_id}.{range_key or 'own'}"


def _watch_key(dashboard_id: int, range_key: str) -> str:
    return f"dashboards:watch:{dashboard_id}:{range_key or 'own'}"


def _watched_key() -> str:
    return "dashboards:watched"


def dashboard_watch(*, dashboard_id: int, range_key: str = "") -> None:
    """Record that a page of the dashboard (at a range, "" for the widgets' own) is open,
    so the minute job keeps it current."""
    cache.set(_watch_key(dashboard_id, range_key), 1, WATCH_SECONDS)
    watched = cache.get(_watched_key()) or {}
    watched[f"{dashboard_id}:{range_key}"] = 1
    cache.set(_watched_key(), watched, None)


def dashboards_watched() -> list[tuple[int, str]]:
    """Return (dashboard id, range) of every open dashboard page. A cache of this process's
    own (the embedded setup) cannot tell what the web process has open: every dashboard at
    its widgets' own ranges, then."""
    if isinstance(caches["default"], LocMemCache | DummyCache):
        return [(pk, "") for pk in Dashboard.objects.values_list("pk", flat=True)]
    watched = cache.get(_watched_key()) or {}
    keys = {entry: _watch_key(*_split(entry)) for entry in watched}
    alive = cache.get_many(list(keys.values()))
    open_pages = [_split(entry) for entry, key in keys.items() if key in alive]
    if len(open_pages) != len(watched):
        cache.set(_watched_key(), {f"{d}:{r}": 1 for d, r in open_pages}, None)
    return open_pages


def _split(entry: str) -> tuple[int, str]:
    dashboard_id, _, range_key = entry.partition(":")
    return int(dashboard_id), range_key


def _widget_window(widget: Widget, now: dt.datetime, range_key: str) -> ranges.Window:
    if range_key:
        return ranges.window(range_key, ranges.Interval.AUTO, now)
    return ranges.window(widget.range, widget.interval, now)


def _cache_key(widget: Widget, win: ranges.Window) -> str:
    # To the microsecond: an edit in the same second as the last drawing is a new key too.
    edited = widget.updated_at.isoformat() if widget.updated_at else ""
    return f"{edited}:{win.range}:{win.interval}"


def _failed(widget: Widget, message: str) -> dict:
    """A widget whose query cannot be answered, drawn as its message."""
    return {"id": widget.pk, "width": widget.width, "kind": widget.kind, "title": widget.title,
            "error": message}  # fmt: skip


def widget_compute(*, widget: Widget, now: dt.datetime, range_key: str = "") -> dict:
    """Return what the widget shows now: its drawing (see results.draw) with "id", "width",
    "range", "computed_at", or "error" with a message when its query cannot be answered
    (an edit the data no longer fits); never raises for a bad query."""
    base = {"id": widget.pk, "width": widget.width, "computed_at": now.isoformat()}
    try:
        win = _widget_window(widget, now, range_key)
        answer = queries.answer(widget.source, widget.params, win)
        drawn = draw(widget.kind, widget.title, answer, widget.options)
    except ApplicationError as exc:
        return {**_failed(widget, exc.message), **base}
    return {**base, **drawn, "range": ranges.Range(win.range).label}


def _last_key(widget: Widget, win: ranges.Window) -> str:
    return f"dashboards:last:{widget.pk}:{_cache_key(widget, win)}"


def _age(drawing: dict, now: dt.datetime) -> float:
    try:
        return (now - dt.datetime.fromisoformat(drawing["computed_at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return float("inf")


def _computed(widget: Widget, now: dt.datetime, range_key: str, win: ranges.Window) -> dict:
    drawing = widget_compute(widget=widget, now=now, range_key=range_key)
    cache.set(_last_key(widget, win), drawing, LAST_SECONDS)
    return drawing


def _refresh_soon(dashboard_id: int, range_key: str) -> None:
    """Have a worker compute the dashboard again (once a minute at most) and send it to its
    open pages."""
    from monitoring.tasks import dashboard_refresh as dashboard_refresh_task

    if cache.add(f"dashboards:refreshing:{dashboard_id}:{range_key}", 1, 60):
        transaction.on_commit(
            lambda: dashboard_refresh_task.delay(dashboard_id, range_key), robust=True
        )


def widget_payload(
    *, widget: Widget, now: dt.datetime, range_key: str = "", fresh=False, stale_ok=False
) -> dict:
    """Return the widget's drawing from the two-level cache (this process's memory, then
    Redis). Missing there, a page (`stale_ok`) takes the last drawing however old and has a
    worker compute a new one, so it never waits for a slow query but the very first time;
    the minute job computes it when `fresh` or when the last drawing has aged past its
    bucket's time (then every process reads the new one)."""
    try:
        win = _widget_window(widget, now, range_key)
    except ApplicationError as exc:
        return _failed(widget, exc.message)
    namespace = f"dashboard-widget:{widget.pk}"
    fresh_for = FRESH_SECONDS.get(win.interval, 300)
    if not fresh and not stale_ok:
        last = cache.get(_last_key(widget, win))
        fresh = last is None or _age(last, now) >= fresh_for
    if fresh:
        tiered_cache.invalidate(namespace)

    def load() -> dict:
        if stale_ok:
            last = cache.get(_last_key(widget, win))
            if last is not None:
                if _age(last, now) >= fresh_for:
                    _refresh_soon(widget.dashboard_id, range_key)
                return last
        return _computed(widget, now, range_key, win)

    return tiered_cache.cached(namespace, _cache_key(widget, win), ttl=fresh_for, loader=load)


def dashboard_payloads(*, dashboard: Dashboard, now: dt.datetime | None = None,
                       range_key: str = "", fresh_minutes: bool = False,
                       stale_ok: bool = False) -> list[dict]:  # fmt: skip
    """Return every widget's drawing of the dashboard, in order, cached where fresh; with
    `fresh_minutes`, widgets by the minute are computed again whatever the cache holds;
    with `stale_ok` (a page), see widget_payload."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for widget in dashboard.widgets.all():
        fresh = fresh_minutes and _interval_of(widget, range_key) == "minute"
        out.append(
            widget_payload(
                widget=widget, now=now, range_key=range_key, fresh=fresh, stale_ok=stale_ok
            )
        )
    return out


def _interval_of(widget: Widget, range_key: str) -> str:
    if range_key or widget.interval == ranges.Interval.AUTO:
        return ranges.interval_for(range_key or widget.range)
    return widget.interval


def dashboards_refresh(*, now: dt.datetime | None = None) -> int:
    """Recompute the widgets of every dashboard page open now, those by the minute each time
    and the others when their cached drawing has expired, and broadcast each page's widgets
    to it. Returns how many pages were sent."""
    now = now or dt.datetime.now(dt.UTC)
    open_pages = dashboards_watched()
    if not open_pages:
        return 0
    boards = Dashboard.objects.prefetch_related("widgets").in_bulk(
        [dashboard_id for dashboard_id, _ in open_pages]
    )
    events = []
    for dashboard_id, range_key in open_pages:
        board = boards.get(dashboard_id)
        if board is None:
            continue
        try:
            payloads = dashboard_payloads(
                dashboard=board, now=now, range_key=range_key, fresh_minutes=True
            )
        except Exception:
            logger.exception("refreshing dashboard %s failed", board.slug)
            continue
        events.append((
            dashboard_group(board.pk, range_key), EVENT_TYPE,
            {"dashboard": board.slug, "at": now.isoformat(), "widgets": payloads},
        ))  # fmt: skip
    broadcast_many(events=events)
    return len(events)


def dashboard_refresh(*, dashboard_id: int, range_key: str = "") -> bool:
    """Compute one dashboard's widgets that have aged and send them to its open pages."""
    board = Dashboard.objects.prefetch_related("widgets").filter(pk=dashboard_id).first()
    if board is None or (range_key and range_key not in ranges.SPANS):
        return False
    now = dt.datetime.now(dt.UTC)
    payloads = dashboard_payloads(dashboard=board, now=now, range_key=range_key)
    broadcast_many(events=[(
        dashboard_group(board.pk, range_key), EVENT_TYPE,
        {"dashboard": board.slug, "at": now.isoformat(), "widgets": payloads},
    )])  # fmt: skip
    return True


def dashboard_document(*, dashboard: Dashboard, range_key: str = "", now=None) -> Document:
    """Return the dashboard as an export document: a section per widget with its points or
    rows and its chart, from the same cached drawings its page shows."""
    now = now or dt.datetime.now(dt.UTC)
    sections = []
    for drawing in dashboard_payloads(dashboard=dashboard, now=now, range_key=range_key):
        columns, rows = drawing_table(drawing)
        sections.append(
            Section(
                title=drawing["title"], columns=columns, rows=rows, size=len(rows),
                chart=drawing.get("figure") if drawing.get("kind") != "gauge" else None,
                note=drawing.get("range", ""),
            )
        )  # fmt: skip
    label = ranges.Range(range_key).label if range_key else "each widget's own range"
    return Document(
        title=f"{dashboard.title} dashboard", generated_at=now, period=None,
        sections=sections, summary=(f"Time range: {label}.",),
    )  # fmt: skip

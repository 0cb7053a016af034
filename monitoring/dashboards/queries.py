"""The questions a dashboard widget may ask, each a source with its parameters, checked
before a widget is saved. A source reads what the apps already keep (rollups, person
tables, the live store) through their selectors and public modules, never raw events per
page view; it answers in the shapes of `results` it can give (a value, series, a table or a
grid), and a widget's kind must draw one of them.

`answer(source, params, window)` runs one; `query_check(...)` says what is wrong with a
widget's query before it is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from analytics import public as analytics_public
from analytics import selectors as analytics_selectors
from experiments import selectors as experiments_selectors
from monitoring import catalog
from monitoring import selectors as monitoring_selectors
from monitoring.dashboards import ranges
from monitoring.dashboards.results import GRID, KIND_SHAPES, SERIES, TABLE, VALUE, Answer, Grid
from monitoring.dashboards.results import Series as Line
from mysetlist.core.exceptions import ApplicationError
from mysetlist.setlists import selectors as setlists_selectors
from notifications import selectors as notifications_selectors
from predictions import selectors as predictions_selectors

FIGURE_MAX_POINTS = 240  # a live figure is read bucket by bucket from the per-minute store


@dataclass(frozen=True)
class Param:
    required: bool = False
    choices: tuple = ()
    kind: type = str  # str, int, list
    default: object = None
    help: str = ""


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    shapes: frozenset
    params: dict
    run: Callable[[dict, ranges.Window], Answer]
    check: Callable[[dict, ranges.Window], None] | None = None


_SOURCES: dict[str, Source] = {}


def source(key: str, label: str, shapes: set, params: dict | None = None, check=None):
    def register(run):
        _SOURCES[key] = Source(key, label, frozenset(shapes), params or {}, run, check)
        return run

    return register


def sources() -> list[Source]:
    return [_SOURCES[key] for key in sorted(_SOURCES)]


def source_get(key: str) -> Source:
    try:
        return _SOURCES[key]
    except KeyError:
        raise ApplicationError(
            f"There is no query {key!r}; the queries are: {', '.join(sorted(_SOURCES))}.",
            {"fields": {"source": ["Unknown query."]}},
        ) from None


def _field_error(name: str, message: str) -> ApplicationError:
    return ApplicationError(message, {"fields": {f"params.{name}": [message]}})


def params_clean(found: Source, params: dict) -> dict:
    """Return the query's parameters with defaults filled in; ApplicationError naming the
    parameter for an unknown, missing or ill-typed one."""
    if not isinstance(params, dict):
        raise ApplicationError(
            "A query's parameters are an object of names and values.",
            {"fields": {"params": ["Not an object."]}},
        )
    unknown = sorted(set(params) - set(found.params))
    if unknown:
        takes = ", ".join(found.params) or "no parameters"
        raise ApplicationError(
            f"The query {found.key!r} takes {takes}; not {', '.join(unknown)}.",
            {"fields": {f"params.{name}": ["Unknown parameter."] for name in unknown}},
        )
    clean = {}
    for name, spec in found.params.items():
        value = params.get(name, spec.default)
        if value in (None, "", []):
            if spec.required:
                raise _field_error(name, f"The query {found.key!r} needs {name!r}.")
            clean[name] = spec.default
            continue
        if spec.kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10_000:
                raise _field_error(name, f"{name!r} is a whole number from 1 to 10000.")
        elif spec.kind is list:
            if (
                not isinstance(value, list)
                or not 2 <= len(value) <= 10
                or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in value)
            ):
                raise _field_error(name, f"{name!r} is a list of 2 to 10 names.")
        elif not isinstance(value, str) or len(value) > 200:
            raise _field_error(name, f"{name!r} is a text of at most 200 characters.")
        if spec.choices and value not in spec.choices:
            raise _field_error(name, f"{name!r} is one of {', '.join(map(str, spec.choices))}.")
        clean[name] = value
    return clean


def query_check(*, source_key: str, params: dict, kind: str, range_key: str, interval: str):
    """Raise ApplicationError for a query a widget of `kind` cannot show: an unknown query,
    kind, parameter, event or figure, a range the query cannot read, a shape the kind cannot
    draw. Returns the cleaned parameters."""
    found = source_get(source_key)
    if kind not in KIND_SHAPES:
        raise ApplicationError(
            f"Unknown widget kind {kind!r}.", {"fields": {"kind": ["Unknown kind."]}}
        )
    if KIND_SHAPES[kind] not in found.shapes:
        drawable = sorted(k for k, shape in KIND_SHAPES.items() if shape in found.shapes)
        raise ApplicationError(
            f"A {kind} cannot show {found.label.lower()}: use {', '.join(drawable)}.",
            {"fields": {"kind": [f"Not for the query {found.key!r}."]}},
        )
    clean = params_clean(found, params)
    win = ranges.window(range_key, interval, dt.datetime.now(dt.UTC))
    if found.check is not None:
        found.check(clean, win)
    return clean


def answer(source_key: str, params: dict, win: ranges.Window) -> Answer:
    """Run one query over a window."""
    found = source_get(source_key)
    clean = params_clean(found, params)
    if found.check is not None:
        found.check(clean, win)
    return found.run(clean, win)


def _buckets(win: ranges.Window) -> list[dt.datetime]:
    step = ranges.STEPS[win.interval]
    first = win.end - win.span
    out, moment = [], first
    while moment < win.end:
        out.append(moment)
        moment += step
    return out


# --- Live figures ---------------------------------------------------------------------------


def _figure_check(params: dict, win: ranges.Window) -> None:
    catalog.figure_get(params["metric"])
    if win.span / ranges.STEPS[win.interval] > FIGURE_MAX_POINTS:
        raise ApplicationError(
            f"A live figure is charted over at most {FIGURE_MAX_POINTS} buckets: pick a "
            "shorter range or a coarser interval.",
            {"fields": {"interval": ["Too fine for a live figure."]}},
        )


def _figure_unit(figure) -> tuple[str, float]:
    if figure.unit == "%":
        return "%", 0.01  # the catalog's percentages, as shares
    return ("ms" if figure.unit == "ms" else ""), 1.0


@source(
    "figure", "A live figure", {VALUE, SERIES, TABLE},
    {"metric": Param(required=True, help="a key of the figures' catalog")},
    check=_figure_check,
)  # fmt: skip
def figure(params: dict, win: ranges.Window) -> Answer:
    found = catalog.figure_get(params["metric"])
    unit, scale = _figure_unit(found)

    def read(start, end):
        value = found.read(start, end)
        return None if value is None else value * scale

    # A card shows the last five minutes (or the range, when shorter): what "now" means.
    recent = max(win.end - dt.timedelta(minutes=5), win.start)
    step = ranges.STEPS[win.interval]
    x = _buckets(win)
    y = tuple(read(moment, moment + step) for moment in x)
    return Answer(
        unit=unit, value=read(recent, win.end), series=(Line(found.name, tuple(x), y),),
        note=found.unit if found.unit.startswith("per ") else "",
    )  # fmt: skip


# --- Analytics -----------------------------------------------------------------------------


def _event_check(params: dict, win: ranges.Window) -> None:
    if not analytics_selectors.event_name_known(name=params["event"]):
        raise _field_error("event", f"No event named {params['event']!r} has been recorded.")


@source(
    "events", "Events", {VALUE, SERIES, TABLE},
    {
        "event": Param(required=True, help="an event name, such as vote_cast"),
        "measure": Param(choices=("count", "persons"), default="count"),
        "breakdown": Param(help="a property to split by, such as artist_id"),
        "limit": Param(kind=int, default=5),
    },
    check=_event_check,
)  # fmt: skip
def events(params: dict, win: ranges.Window) -> Answer:
    found = analytics_public.trend(
        event=params["event"], interval=win.interval, start=win.start, end=win.end,
        measure=params["measure"], breakdown=params["breakdown"] or None, limit=params["limit"],
    )  # fmt: skip
    lines = tuple(
        Line(s.breakdown or params["event"], tuple(p[0] for p in s.points),
             tuple(p[1] for p in s.points))
        for s in found
    )  # fmt: skip
    return Answer(value=float(sum(s.total for s in found)), series=lines)


@source(
    "active_users", "Active users", {VALUE, SERIES, TABLE},
    {"measure": Param(choices=("dau", "wau", "mau"), default="dau")},
)  # fmt: skip
def active_users(params: dict, win: ranges.Window) -> Answer:
    days = analytics_public.active_users(first_day=win.start.date(), last_day=win.end.date())
    x = tuple(d.day for d in days)
    lines = tuple(
        Line(name.upper(), x, tuple(getattr(d, name) for d in days))
        for name in ("dau", "wau", "mau")
    )
    last = days[-1] if days else None
    return Answer(value=None if last is None else float(getattr(last, params["measure"])),
                  series=lines)  # fmt: skip


def _top_names(kind: str, ids: list[int]) -> dict[int, str]:
    if kind == "artist":
        names = setlists_selectors.artist_names()
        return {pk: names.get(pk, f"Artist {pk}") for pk in ids}
    if kind == "show":
        shows = setlists_selectors.shows_describe(show_ids=ids)
        return {
            pk: f"{shows[pk]['artist']}, {shows[pk]['date']:%Y-%m-%d}" if pk in shows
            else f"Show {pk}"
            for pk in ids
        }  # fmt: skip
    titles = setlists_selectors.song_titles(song_ids=ids)
    return {pk: titles.get(pk, f"Song {pk}") for pk in ids}


@source(
    "top", "Top artists, shows or songs", {SERIES, TABLE},
    {"kind": Param(required=True, choices=("artist", "show", "song")),
     "limit": Param(kind=int, default=10)},
)  # fmt: skip
def top(params: dict, win: ranges.Window) -> Answer:
    hours = max(1, min(int(win.span.total_seconds() // 3600), 24 * 90))
    found = analytics_public.trending(
        kind=params["kind"], now=win.end, hours=hours, limit=params["limit"]
    )
    names = _top_names(params["kind"], [row["id"] for row in found])
    labels = tuple(names[row["id"]] for row in found)
    return Answer(
        series=(Line("votes", labels, tuple(row["votes"] for row in found)),
                Line("page views", labels, tuple(row["views"] for row in found))),
        columns=(params["kind"].title(), "Votes", "Page views", "Trend score"),
        rows=tuple((names[r["id"]], r["votes"], r["views"], r["score"]) for r in found),
    )  # fmt: skip


def _period_start(start: dt.date, period: str, k: int) -> dt.date:
    if period == "week":
        return start + dt.timedelta(weeks=k)
    month = start.month - 1 + k
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


@source(
    "retention", "Retention by cohort", {GRID, TABLE},
    {"period": Param(choices=("week", "month"), default="week"),
     "periods": Param(kind=int, default=8)},
)  # fmt: skip
def retention(params: dict, win: ranges.Window) -> Answer:
    cohorts = analytics_public.retention(
        period=params["period"], periods=min(params["periods"], 24),
        first_day=win.start.date(), last_day=win.end.date(),
    )  # fmt: skip
    periods = min(params["periods"], 24)
    x = tuple(f"{params['period']} {k}" for k in range(periods))
    y = tuple(f"{c.start:%Y-%m-%d} ({c.size})" for c in cohorts)
    today = win.end.date()

    def share(cohort, k: int, n: int) -> float | None:
        if not cohort.size or _period_start(cohort.start, params["period"], k) > today:
            return None  # a period yet to come is no one's absence
        return round(n / cohort.size, 4)

    z = tuple(tuple(share(c, k, n) for k, n in enumerate(c.returning)) for c in cohorts)
    rows = tuple((f"{c.start:%Y-%m-%d}", c.size, *c.returning) for c in cohorts)
    return Answer(
        unit="%", grid=Grid(x, y, z), columns=("Cohort", "Persons", *x), rows=rows,
    )  # fmt: skip


def _funnel_check(params: dict, win: ranges.Window) -> None:
    for step in params["steps"]:
        if not analytics_selectors.event_name_known(name=step):
            raise _field_error("steps", f"No event named {step!r} has been recorded.")
    if params["window_hours"] > 90 * 24:
        raise _field_error("window_hours", "A funnel's window is at most 90 days (2160 hours).")
    if params["mode"] == "first_time" and len(set(params["steps"])) < len(params["steps"]):
        raise _field_error("steps", "A first-time funnel names each event once.")


@source(
    "funnel", "Funnel", {SERIES, TABLE},
    {"steps": Param(required=True, kind=list, help="event names in order"),
     "window_hours": Param(kind=int, default=24),
     "mode": Param(choices=("sequence", "first_time"), default="sequence",
                   help="any attempt in order (from the timeline), or each person's first "
                        "time (from the person tables, fast over months)")},
    check=_funnel_check,
)  # fmt: skip
def funnel(params: dict, win: ranges.Window) -> Answer:
    window = dt.timedelta(hours=params["window_hours"])
    if params["mode"] == "first_time":
        found = analytics_public.funnel_first_time(
            steps=params["steps"], window=window, start=win.start, end=win.end
        )
    else:
        found = analytics_public.funnel(
            steps=params["steps"], window=window, start=win.start, end=win.end
        )[None]
    labels = tuple(step.event for step in found)
    return Answer(
        series=(Line("persons", labels, tuple(step.persons for step in found)),),
        columns=("Step", "Persons", "Of the first", "Of the previous", "Dropped"),
        rows=tuple((s.event, s.persons, s.conversion_from_first, s.conversion_from_previous,
                    s.dropped) for s in found),
    )  # fmt: skip


# Sessions and paths are read from the day rollups: whole UTC days, the last one so far.
BY_DAY_NOTE = "UTC days; sessions end at midnight"
SESSION_MEASURES = {
    "sessions": ("Sessions", ""),
    "mean_seconds": ("Mean length (s)", ""),
    "median_seconds": ("Median length (s)", ""),
    "pages_per_session": ("Pages per session", ""),
    "bounce_rate": ("Bounce rate", "%"),
}


def _sessions_check(params: dict, win: ranges.Window) -> None:
    if win.span > dt.timedelta(days=analytics_public.ENGAGEMENT_MAX_DAYS):
        raise ApplicationError(
            f"Sessions are read over {analytics_public.ENGAGEMENT_MAX_DAYS} days at most.",
            {"fields": {"range": ["Too long for sessions."]}},
        )


def _days(win: ranges.Window) -> tuple[dt.date, dt.date]:
    """The UTC days a day-rollup query reads for a window: as many as the range has days
    (one, under a day), ending with the window's last day."""
    days = max(1, -(-win.span // dt.timedelta(days=1)))
    last = win.end.date()
    return last - dt.timedelta(days=days - 1), last


@source(
    "sessions", "Sessions", {VALUE, TABLE},
    {"measure": Param(choices=tuple(SESSION_MEASURES), default="sessions")},
    check=_sessions_check,
)  # fmt: skip
def sessions(params: dict, win: ranges.Window) -> Answer:
    first, last = _days(win)
    found = analytics_public.sessions_by_day(first_day=first, last_day=last)
    values = {name: getattr(found, name, None) for name in SESSION_MEASURES}
    return Answer(
        unit=SESSION_MEASURES[params["measure"]][1], value=values[params["measure"]],
        columns=("Measure", "Value"),
        rows=tuple((label, values[name]) for name, (label, _) in SESSION_MEASURES.items()),
        note=BY_DAY_NOTE,
    )  # fmt: skip


@source(
    "paths", "Paths between pages", {TABLE},
    {"limit": Param(kind=int, default=10)},
    check=_sessions_check,
)  # fmt: skip
def paths(params: dict, win: ranges.Window) -> Answer:
    first, last = _days(win)
    found = analytics_public.paths_by_day(first_day=first, last_day=last, limit=params["limit"])
    return Answer(columns=("From", "To", "Moves"), rows=tuple(tuple(row) for row in found),
                  note=BY_DAY_NOTE)  # fmt: skip


# --- Notifications -------------------------------------------------------------------------

DELIVERY_MEASURES = ("sent", "delivered", "opened", "clicked", "converted", "dismissed",
                     "bounced", "failed", "failure_rate")  # fmt: skip
DELIVERY_DIMENSIONS = ("channel", "category", "template_version", "experiment", "variant",
                       "provider")  # fmt: skip


def _delivery_value(row, measure: str):
    return row.failure_rate if measure == "failure_rate" else getattr(row, measure, 0)


def _label(key: dict, by: str | None) -> str:
    return "all" if by is None else str(key.get(by) or "—")


@source(
    "deliveries", "Notification deliveries", {VALUE, SERIES, TABLE},
    {"measure": Param(choices=DELIVERY_MEASURES, default="sent"),
     "by": Param(choices=DELIVERY_DIMENSIONS)},
)  # fmt: skip
def deliveries(params: dict, win: ranges.Window) -> Answer:
    measure, by = params["measure"], params["by"]
    dims = (by,) if by else ()
    every = win.interval if win.interval in ("minute", "hour", "day") else "day"
    start = win.start.replace(second=0, microsecond=0)
    end = win.end.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    totals = notifications_selectors.delivery_totals(start=start, end=end, by=dims)
    buckets = notifications_selectors.delivery_totals(start=start, end=end, by=dims, every=every)
    per: dict[str, dict] = {}
    for row in buckets:
        per.setdefault(_label(row.key, by), {})[row.key["bucket"]] = _delivery_value(row, measure)
    x = tuple(_buckets(ranges.Window(start, end, every, win.range)))
    lines = tuple(Line(name, x, tuple(points.get(b) for b in x)) for name, points in per.items())
    overall = notifications_selectors.delivery_totals(start=start, end=end)
    unit = "%" if measure == "failure_rate" else ""
    columns = (by or "", "Sent", "Delivered", "Opened", "Clicked", "Failed", "Bounced",
               "Failure rate", "Latency p50 (ms)", "Latency p99 (ms)")  # fmt: skip
    rows = tuple(
        (_label(r.key, by), r.sent, r.delivered, r.opened, r.clicked, r.failed, r.bounced,
         r.failure_rate, r.latency_p50_ms, r.latency_p99_ms)
        for r in totals
    )  # fmt: skip
    value = _delivery_value(overall[0], measure) if overall else None
    return Answer(unit=unit, value=value, series=lines, columns=columns, rows=rows)


# --- Monitoring, experiments, predictions ----------------------------------------------------


@source("alerts", "Open alerts", {VALUE, TABLE})
def alerts(params: dict, win: ranges.Window) -> Answer:
    found = list(monitoring_selectors.alert_list(states=["pending", "firing", "acknowledged"]))
    rows = tuple((a.rule.name, a.rule.severity, a.state, a.started_at, a.value) for a in found[:50])
    return Answer(
        value=float(sum(1 for a in found if a.state == "firing")),
        columns=("Rule", "Severity", "State", "Since", "Value"), rows=rows,
        note="firing now",
    )  # fmt: skip


@source("vote_flags", "Vote flags to review", {VALUE, TABLE})
def vote_flags(params: dict, win: ranges.Window) -> Answer:
    waiting, flags = monitoring_selectors.vote_flags_open()
    rows = tuple(
        (f"{f.show.artist.name}, {f.show.date:%Y-%m-%d}", f.get_kind_display(), f.subject_key,
         len(f.vote_ids), f.score, f.last_seen_at)
        for f in flags
    )  # fmt: skip
    return Answer(
        value=float(waiting), columns=("Show", "Kind", "Subject", "Votes", "Score", "Last seen"),
        rows=rows, note="awaiting review in admin",
    )  # fmt: skip


@source("anomalies", "Anomalies seen", {VALUE, TABLE})
def anomalies(params: dict, win: ranges.Window) -> Answer:
    found = monitoring_selectors.anomaly_findings_recent(since=win.start)
    rows = tuple(
        (f.metric, f.subject or "—", f.window_end, f.observed, f.baseline, round(f.score, 1))
        for f in found
    )
    return Answer(
        value=float(len(found)),
        columns=("Series", "Subject", "Window end", "Observed", "Usual", "Score"), rows=rows,
    )  # fmt: skip


@source("health", "Health checks", {VALUE, TABLE})
def health(params: dict, win: ranges.Window) -> Answer:
    report = monitoring_selectors.health_report()
    rows = tuple((name, check["status"], check.get("error") or "") for name, check in report)
    failing = sum(1 for row in rows if row[1] != "ok")
    return Answer(value=float(failing), columns=("Check", "Status", "Detail"), rows=rows,
                  note="checks failing")  # fmt: skip


@source("experiments", "Experiments", {VALUE, TABLE})
def experiments(params: dict, win: ranges.Window) -> Answer:
    found = experiments_selectors.experiment_summaries()
    running = sum(1 for e in found if e["status"] == "running")
    rows = tuple((e["key"], e["name"], e["status"], e["phase"], e["exposures"]) for e in found)
    return Answer(value=float(running), columns=("Key", "Name", "Status", "Phase", "Exposures"),
                  rows=rows, note="running")  # fmt: skip


@source(
    "predictions", "Prediction accuracy", {VALUE, TABLE},
    {"measure": Param(choices=("r_precision", "recall_at_25", "jaccard", "brier"),
                      default="r_precision")},
)  # fmt: skip
def predictions(params: dict, win: ranges.Window) -> Answer:
    found = predictions_selectors.prediction_accuracy()
    names = ("r_precision", "recall_at_25", "jaccard", "brier")
    rows = [("All artists", found["overall"]["shows"], *(found["overall"][n] for n in names))]
    rows += [
        (artist, figures["shows"], *(figures[n] for n in names))
        for artist, figures in found["artists"].items()
    ]
    return Answer(
        value=found["overall"][params["measure"]],
        columns=("Artist", "Shows scored", "R-precision", "Recall@25", "Jaccard", "Brier"),
        rows=tuple(rows),
    )  # fmt: skip

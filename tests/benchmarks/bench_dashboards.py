"""Each stored dashboard's load over 10 million events, beside a raw count of them.

Reads bench-metrics' 10 million events (30 days, 50,000 persons; generated and rolled up on
the first run of either benchmark) and loads each default dashboard as its page does at the
end of those 30 days: every widget's query and drawing, and the template. Cold is with the
widget cache emptied (what the minute job pays, and a page opened first); "from Redis" is a
page load in a web process whose memory layer does not hold the drawings yet; warm is a page
load after it (what staff mostly wait for). Printed beside a count of the same events straight
from the raw table, in the same run.

    make bench-dashboards
"""

import os
import statistics
import time

from bench_metrics import END, EVENTS, events_ready


def timed(run, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(label: str, times: list[float]) -> str:
    return (f"  {label:<40} p50 {statistics.median(times):8.1f} ms   "
            f"max {max(times):8.1f} ms   ({len(times)} runs)")  # fmt: skip


def main():
    events_ready()
    from django.template.loader import render_to_string
    from django.urls import get_resolver

    from analytics.models import Event
    from monitoring.dashboards import services
    from monitoring.dashboards.defaults import DASHBOARDS, dashboards_install
    from monitoring.dashboards.models import Dashboard, Widget
    from monitoring.dashboards.ranges import Range
    from mysetlist.core import tiered_cache

    dashboards_install(Dashboard, Widget, reset=True)  # the defaults, as shipped
    # A web process has its URLconf loaded by its first request (about 2 s of imports,
    # webhooks' SDKs among them); the page's {% url %} tags would otherwise pay it here.
    get_resolver().url_patterns  # noqa: B018

    def load(board):
        widgets = services.dashboard_payloads(dashboard=board, now=END)
        errors = [w["error"] for w in widgets if "error" in w]
        assert not errors, (board.slug, errors)
        render_to_string("monitoring/dashboard_detail.html", {
            "dashboard": board, "widgets": widgets, "ranges": Range.choices,
            "dashboards": Dashboard.objects.all(), "socket_path": "/ws/",
        })  # fmt: skip

    def cold(board):
        tiered_cache.invalidate(*(f"dashboard-widget:{w.pk}" for w in board.widgets.all()))
        load(board)

    def shared(board):  # another web process: Redis has the drawings, its memory not
        tiered_cache.local_forget()
        load(board)

    rows = []
    for spec in DASHBOARDS:
        board = Dashboard.objects.prefetch_related("widgets").get(slug=spec["slug"])
        widgets = board.widgets.count()
        rows.append(
            (f"{spec['title']} ({widgets} widgets), cold", timed(lambda b=board: cold(b), 3))
        )
        rows.append((f"{spec['title']}, from Redis", timed(lambda b=board: shared(b), 10)))
        rows.append((f"{spec['title']}, warm", timed(lambda b=board: load(b), 10)))
    raw = timed(lambda: Event.objects.count(), 3)
    print(f"\nbench-dashboards on {os.cpu_count()} cores, {EVENTS} events over 30 days")
    for label, times in rows:
        print(line(label, times))
    print(line("baseline: count of the raw events", raw))


if __name__ == "__main__":
    main()

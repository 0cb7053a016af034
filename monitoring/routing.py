"""Websocket figures for the project's routing: `websocket_counted` wraps the websocket
application and counts its open connections, in Prometheus and, sampled every
`MONITORING_HEARTBEAT_SECONDS`, in the shared per-minute store; and the websocket routes
of live dashboards."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter

from django.conf import settings
from django.urls import path

from monitoring import instrumentation, live
from monitoring.dashboards.consumers import DashboardConsumer

logger = logging.getLogger(__name__)


def route_of(path: str) -> str:
    """Return the route a websocket path counts under: its first two segments ("ws/shows"),
    which the project's routes keep few (only accepted connections are counted)."""
    return "/".join(path.strip("/").split("/")[:2]) or "/"


class ConnectionCounter:
    """ASGI middleware counting the websockets its application accepted and has not closed."""

    def __init__(self, app):
        self.app = app
        self.open: Counter = Counter()
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        # A daemon thread, not a task on the event loop: a task that never ends would keep
        # an event loop (a test's, a server's shutting down) from finishing.
        self.sampler: threading.Thread | None = None
        self.dirty = threading.Event()
        self.lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A forked server counts its own connections, with its own sampler and locks."""
        self.open = Counter()
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self.sampler, self.dirty, self.lock = None, threading.Event(), threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        route = route_of(scope.get("path", ""))
        accepted = False

        async def counted_send(message):
            nonlocal accepted
            if message.get("type") == "websocket.accept" and not accepted:
                accepted = True
                self.changed(route, +1)
            await send(message)

        with self.lock:
            if self.sampler is None or not self.sampler.is_alive():
                self.sampler = threading.Thread(
                    target=self.sample_forever, name="websocket-sampler", daemon=True
                )
                self.sampler.start()
        try:
            return await self.app(scope, receive, counted_send)
        finally:
            if accepted:
                self.changed(route, -1)

    def changed(self, route: str, step: int) -> None:
        self.open[route] += step
        instrumentation.WEBSOCKETS.labels(route).inc(step)
        self.dirty.set()

    def sample_forever(self) -> None:
        while True:
            try:
                live.values_set({f"ws:{self.process}": sum(self.open.values())})
            except Exception:
                logger.warning("websocket count not recorded", exc_info=True)
            # Sampled again at once after a change, else every heartbeat.
            self.dirty.wait(settings.MONITORING_HEARTBEAT_SECONDS)
            self.dirty.clear()


def websocket_counted(app):
    """Return `app` with its open websocket connections counted."""
    return ConnectionCounter(app)


websocket_urlpatterns = [
    path("ws/dashboards/<int:dashboard_id>/", DashboardConsumer.as_asgi()),
    path("ws/dashboards/<int:dashboard_id>/<str:range_key>/", DashboardConsumer.as_asgi()),
]

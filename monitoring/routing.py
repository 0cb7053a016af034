"""Websocket figures for the project's routing: `websocket_counted` wraps the websocket
application and counts its open connections, in Prometheus and, sampled every
`MONITORING_HEARTBEAT_SECONDS`, in the shared per-minute store."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter

from django.conf import settings

from monitoring import instrumentation, live

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
        self.sampler: asyncio.Task | None = None
        self.dirty = asyncio.Event()

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

        if self.sampler is None or self.sampler.done():
            self.sampler = asyncio.ensure_future(self.sample_forever())
        try:
            return await self.app(scope, receive, counted_send)
        finally:
            if accepted:
                self.changed(route, -1)

    def changed(self, route: str, step: int) -> None:
        self.open[route] += step
        instrumentation.WEBSOCKETS.labels(route).inc(step)
        self.dirty.set()

    async def sample_forever(self) -> None:
        while True:
            try:
                total = sum(self.open.values())
                await asyncio.to_thread(live.values_set, {f"ws:{self.process}": total})
            except Exception:
                logger.warning("websocket count not recorded", exc_info=True)
            # Sampled again at once after a change, else every heartbeat.
            try:
                await asyncio.wait_for(self.dirty.wait(), settings.MONITORING_HEARTBEAT_SECONDS)
            except TimeoutError:
                pass
            self.dirty.clear()


def websocket_counted(app):
    """Return `app` with its open websocket connections counted."""
    return ConnectionCounter(app)

"""Live counts of shows to the websockets of this process: one hub per event loop.

Every vote publishes its tally once (see services, `live_publish_on_commit`); each process
holding websockets receives it once on its one subscription (`mysetlist.core.live_feed`), and
its hub fans it out in memory to the sockets of that show. Per show the hub sends at most one
frame every LIVE_COALESCE_SECONDS, carrying the tallies changed since the last one, each with
its version, serialised once for all of the show's sockets. A socket that joins first gets
every tally of the show (so a reconnecting page has current counts), then the changes.

Only the show's runner task sends to its sockets, one frame after the other, and the hub
keeps only the newest version of a tally: a socket never gets an older version of a song
after a newer one, whatever order the votes' messages arrive in.

Presence ("N fans here now"): every LIVE_PRESENCE_SECONDS each process writes its own count
per show to Redis (a hash that expires with the process) and sums every live process's
counts for its shows; a changed sum goes out as a presence frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.conf import settings

from mysetlist.core.live_feed import Subscription

from .models import Show, VoteTally
from .pacing import Pace
from .services import LIVE_TOPIC as TOPIC

logger = logging.getLogger(__name__)

Send = Callable[[dict], Awaitable[None]]


def tally_frame_item(tally: dict) -> dict:
    return {
        "song_id": tally["song_id"],
        "upvotes": tally["upvotes"],
        "downvotes": tally["downvotes"],
        "score": tally["score"],
        "version": tally["version"],
    }


def _dumps(frame: dict) -> dict:
    """Return the ASGI message sending `frame`, serialised once for every socket."""
    return {"type": "websocket.send", "text": json.dumps(frame, separators=(",", ":"))}


def _show_snapshot(show_id: int) -> list[dict] | None:
    """Return every tally of the show as frame items, or None if there is no such show."""
    if not Show.objects.filter(pk=show_id).exists():
        return None
    return [
        {"song_id": song, "upvotes": up, "downvotes": down, "score": up - down, "version": v}
        for song, up, down, v in VoteTally.objects.filter(show_id=show_id).values_list(
            "song_id", "upvotes", "downvotes", "version"
        )
    ]


@dataclass(eq=False)
class Room:
    """One show's sockets in this process and what they were last told."""

    show_id: int
    sockets: dict[Send, bool] = field(default_factory=dict)  # send -> still needs everything
    known: dict[int, dict] = field(default_factory=dict)  # song id -> newest tally item
    changed: set[int] = field(default_factory=set)
    statuses: list[dict] = field(default_factory=list)
    others: int = 0  # listeners of the show in other processes, as last summed
    presence_sent: int | None = None
    presence_at: float = -float("inf")
    pace: Pace = field(default_factory=lambda: Pace(settings.LIVE_SEND_SHARE))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Future | None = None
    runner: asyncio.Task | None = None

    def merge(self, item: dict) -> None:
        current = self.known.get(item["song_id"])
        if current is None or item["version"] > current["version"]:
            self.known[item["song_id"]] = item
            self.changed.add(item["song_id"])
            self.wake.set()


class ShowHub:
    def __init__(self):
        self.rooms: dict[int, Room] = {}
        self.subscription: Subscription | None = None
        self.ticker: asyncio.Task | None = None
        self.lock = asyncio.Lock()
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.redis = None

    # Sockets come and go.

    async def show_exists(self, show_id: int) -> bool:
        """Return whether the show exists, asking the database once per show however many
        sockets connect at once (the room's load answers them all)."""
        return await self._open(show_id) is not None

    async def join(self, show_id: int, send: Send) -> bool:
        """Add a socket to the show's room; it gets the show's tallies at once, then changes.
        Return False if there is no such show."""
        room = await self._open(show_id)
        if room is None:
            return False
        room.sockets[send] = True
        room.wake.set()
        return True

    async def _open(self, show_id: int) -> Room | None:
        """Return the show's room once loaded (None: no such show), opening it if needed."""
        async with self.lock:
            if self.subscription is None:
                await self._start()  # before any load: no message is missed in between
        room = self.rooms.get(show_id)
        if room is None:
            room = self.rooms[show_id] = Room(show_id=show_id)
            room.ready = asyncio.get_running_loop().create_future()
            room.runner = asyncio.ensure_future(self._run(room))
        if not await asyncio.shield(room.ready):
            return None
        if self.rooms.get(show_id) is not room:  # closed meanwhile: open it again
            return await self._open(show_id)
        return room

    def leave(self, show_id: int, send: Send) -> None:
        room = self.rooms.get(show_id)
        if room is not None and room.sockets.pop(send, None) is not None:
            room.wake.set()  # its runner sends the new presence, or closes an empty room

    # Messages from the feed.

    def on_message(self, message: dict) -> None:
        room = self.rooms.get(message.get("show_id"))
        if room is None:
            return
        if message["kind"] == "tally":
            room.merge(tally_frame_item(message["tally"]))
        elif message["kind"] == "status":
            room.statuses.append(
                {
                    "type": "show.status",
                    "show_id": room.show_id,
                    "status": message["status"],
                    "label": message["label"],
                }
            )
            room.wake.set()

    def on_resubscribed(self) -> None:
        """Messages may have been missed: every room loads its show again and every socket
        gets all of it."""
        for room in self.rooms.values():
            asyncio.ensure_future(self._reload(room))

    async def _reload(self, room: Room) -> None:
        items = await database_sync_to_async(_show_snapshot)(room.show_id)
        for item in items or []:
            room.merge(item)
        for send in room.sockets:
            room.sockets[send] = True
        room.wake.set()

    # One runner per show sends its frames.

    async def _run(self, room: Room) -> None:
        try:
            items = await database_sync_to_async(_show_snapshot)(room.show_id)
        except Exception as exc:
            self.rooms.pop(room.show_id, None)
            room.ready.set_exception(exc)
            await self._stop_if_idle()
            return
        if items is None:
            self.rooms.pop(room.show_id, None)
            room.ready.set_result(False)
            await self._stop_if_idle()
            return
        for item in items:
            room.merge(item)
        room.changed.clear()  # new sockets get everything anyway
        room.wake.clear()  # and the sockets that asked for the show have yet to join
        room.ready.set_result(True)
        loop = asyncio.get_running_loop()
        next_at = 0.0
        while True:
            await room.wake.wait()
            wait = next_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            room.wake.clear()
            if not room.sockets:
                del self.rooms[room.show_id]
                await self._stop_if_idle()
                return
            started = loop.time()
            await self._flush(room)
            # The next frame waits the coalescing interval, or longer while the show's
            # frames have taken more than LIVE_SEND_SHARE of the process lately, leaving
            # the rest to its other shows and to the machine's votes.
            next_at = room.pace.sent(started, loop.time() - started, settings.LIVE_COALESCE_SECONDS)

    async def _flush(self, room: Room) -> None:
        statuses = [_dumps(status) for status in room.statuses]
        room.statuses.clear()
        common = list(statuses)
        if room.changed:
            changed = [room.known[song] for song in sorted(room.changed)]
            room.changed.clear()
            common.append(_dumps({"type": "tallies", "show_id": room.show_id, "tallies": changed}))
        count = room.others + len(room.sockets)
        presence = _dumps({"type": "presence", "show_id": room.show_id, "count": count})
        # Sockets coming and going change it often: once a tick at most (the ticker wakes
        # the room again while the count sent is not the current one).
        now = asyncio.get_running_loop().time()
        if count != room.presence_sent and now - room.presence_at >= settings.LIVE_PRESENCE_SECONDS:
            common.append(presence)
            room.presence_sent, room.presence_at = count, now
        fresh = None
        for send, new in list(room.sockets.items()):
            if send not in room.sockets:  # gone while an earlier socket was sent to
                continue
            if new:
                if fresh is None:
                    everything = sorted(room.known.values(), key=lambda item: item["song_id"])
                    tallies = {"type": "tallies", "show_id": room.show_id, "tallies": everything}
                    fresh = [*statuses, _dumps(tallies), presence]
                room.sockets[send] = False
                frames = fresh
            else:
                frames = common
            for frame in frames:
                try:
                    await send(frame)
                except Exception:
                    logger.debug("a live socket of show %s failed", room.show_id, exc_info=True)
                    room.sockets.pop(send, None)
                    break

    # Start, presence and stop.

    async def _start(self) -> None:
        self.subscription = Subscription(TOPIC, self.on_message, self.on_resubscribed)
        await self.subscription.start()
        if settings.LIVE_REDIS_URL:
            import redis.asyncio

            self.redis = redis.asyncio.Redis.from_url(
                settings.LIVE_REDIS_URL, socket_timeout=5, socket_connect_timeout=3
            )
        self.ticker = asyncio.ensure_future(self._tick_forever())

    async def _stop_if_idle(self) -> None:
        async with self.lock:
            if self.rooms or self.subscription is None:
                return
            self.ticker.cancel()
            await asyncio.gather(self.ticker, return_exceptions=True)
            await self.subscription.stop()
            if self.redis is not None:
                try:
                    await self.redis.delete(self._presence_key(self.process))
                    await self.redis.aclose()
                except Exception:
                    logger.debug("closing the presence connection failed", exc_info=True)
            self.subscription = self.ticker = self.redis = None

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self._count_presence()
                await self.subscription.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("live presence not counted", exc_info=True)
            await asyncio.sleep(settings.LIVE_PRESENCE_SECONDS)

    def _presence_key(self, process: str) -> str:
        return f"{settings.LIVE_CHANNEL_PREFIX}:presence:{process}"

    async def _count_presence(self) -> None:
        local = {room.show_id: len(room.sockets) for room in self.rooms.values()}
        # Without Redis there is one process: its own sockets are every listener.
        others = await self._presence_of_others(local) if self.redis is not None else {}
        for room in list(self.rooms.values()):
            room.others = others.get(room.show_id, 0)
            if room.others + len(room.sockets) != room.presence_sent:
                room.wake.set()

    async def _presence_of_others(self, local: dict[int, int]) -> dict[int, int]:
        """Write this process's counts; return the other live processes' summed per show."""
        ttl = settings.LIVE_PRESENCE_TTL_SECONDS
        processes_key = f"{settings.LIVE_CHANNEL_PREFIX}:presence-processes"
        mine, now = self._presence_key(self.process), time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(mine)
            if local:
                pipe.hset(mine, mapping={str(show): n for show, n in local.items()})
                pipe.expire(mine, ttl)
            pipe.zadd(processes_key, {self.process: now})
            pipe.zremrangebyscore(processes_key, "-inf", now - ttl)
            pipe.expire(processes_key, ttl)
            pipe.zrange(processes_key, 0, -1)
            processes = (await pipe.execute())[-1]
        others = [p.decode() for p in processes if p.decode() != self.process]
        totals = dict.fromkeys(local, 0)
        if not others or not local:
            return totals
        shows = list(local)
        async with self.redis.pipeline(transaction=False) as pipe:
            for process in others:
                pipe.hmget(self._presence_key(process), [str(show) for show in shows])
            for counts in await pipe.execute():
                for show, count in zip(shows, counts, strict=True):
                    totals[show] += int(count or 0)
        return totals


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def show_hub() -> ShowHub:
    """Return the hub of the running event loop (daphne's one, or a test's)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = ShowHub()
    return hub

"""The embedded setup's channel layer: in memory, with other processes' group sends relayed to
the web server, which holds the websockets, over a Unix socket.

Without Redis, daphne keeps its websockets' groups in its own memory, so a group send from
the Celery worker, beat or a management command reached nobody. Here such sends go to
daphne as one HTTP request (a batch's sends together, see group_send_many) over a Unix
socket in `var/` (only its owner may connect), signed with the secret key, and daphne hands
them to its in-memory layer. A process holding
websockets of its own sends to them directly. With Redis none of this is used.
"""

import asyncio
import logging

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core import signing

logger = logging.getLogger(__name__)

RELAY_PATH = "/_live/group-send"
_SALT = "mysetlist.live-bridge"
_MAX_AGE = 30  # seconds a signed relay is accepted for
_TIMEOUT = 5  # seconds to connect and to be answered
MAX_BODY = 4 * 1024 * 1024  # bytes a relay may carry; a larger one is refused unread

# Set once this process has made a channel, i.e. serves websockets: its sends stay here.
_serving_websockets = False


class RelayError(Exception):
    """The web server did not take a relayed group send."""


class RelayedChannelLayer(InMemoryChannelLayer):
    """An in-memory layer whose group sends, from a process that serves no websockets, are
    relayed to the one that does (listening on `socket`)."""

    def __init__(self, socket: str = "", **kwargs):
        super().__init__(**kwargs)
        self.socket = socket

    async def new_channel(self, prefix="specific."):
        global _serving_websockets
        _serving_websockets = True
        return await super().new_channel(prefix)

    async def group_send(self, group, message):
        await self.group_send_many([(group, message)])

    async def group_send_many(self, sends: list[tuple[str, dict]]) -> None:
        """Send each (group, message), relaying them all in one request where this process
        serves no websockets."""
        await self.group_send_here(sends)
        if self.socket and not _serving_websockets and sends:
            await self._relay(sends)

    async def group_send_here(self, sends: list[tuple[str, dict]]) -> None:
        """Send to this process's members of the groups only (what a relay asks for)."""
        for group, message in sends:
            await super().group_send(group, message)

    async def _relay(self, sends: list[tuple[str, dict]]) -> None:
        body = signing.dumps({"sends": sends}, salt=_SALT).encode()
        group = sends[0][0]
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket), _TIMEOUT
            )
        except (FileNotFoundError, ConnectionRefusedError):
            # No web server is running, so no page is open to hear it.
            logger.debug("no web server at %s: %s sends not relayed", self.socket, len(sends))
            return
        try:
            writer.write(
                f"POST {RELAY_PATH} HTTP/1.1\r\nHost: localhost\r\n"
                f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), _TIMEOUT)
        finally:
            writer.close()
        if status_line.split()[1:2] != [b"204"]:
            raise RelayError(
                f"relaying {len(sends)} sends (to {group} first): the web server answered "
                f"{status_line!r}"
            )


async def _read_body(receive) -> bytes | None:
    """Return the request's body, or None once it passes MAX_BODY."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        more = message.get("more_body", False)
    return body


async def _respond(send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _relay_receive(scope, receive, send) -> None:
    layer = get_channel_layer()
    if scope["method"] != "POST" or not isinstance(layer, RelayedChannelLayer):
        await _respond(send, 404)
        return
    body = await _read_body(receive)
    if body is None:
        await _respond(send, 413)
        return
    try:
        relayed = signing.loads(body.decode(), salt=_SALT, max_age=_MAX_AGE)
    except (signing.BadSignature, UnicodeDecodeError):
        await _respond(send, 403)
        return
    try:
        sends = [(str(group), dict(message)) for group, message in relayed["sends"]]
    except (KeyError, TypeError, ValueError):
        await _respond(send, 400)
        return
    await layer.group_send_here(sends)
    await _respond(send, 204)


def with_relay(application):
    """Return the HTTP application, taking relayed group sends that come over a Unix socket
    (daphne gives those no server address); everything else goes to `application`. The
    signature is what admits a relay: a request without a server address may also come
    from a proxy on a socket, and is refused unsigned."""

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == RELAY_PATH and scope.get("server") is None:
            await _relay_receive(scope, receive, send)
        else:
            await application(scope, receive, send)

    return app

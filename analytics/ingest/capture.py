"""The ingest endpoint's one implementation, and a lean WSGI path to it.

`ingest_http` turns a raw request body into a response (status, JSON-able dict). The DRF
view calls it after DRF's authentication and throttling; `CaptureDispatcher` calls it for
POST /api/analytics/events before any Django middleware runs, so a single event costs far
less than a full trip through the stack (see `make bench-ingest`).
"""

import logging
import zlib
from dataclasses import dataclass

import orjson
from django.db import DataError, connection
from django.utils import timezone

from analytics import services
from analytics.ingest.ratelimit import rate_allowed
from analytics.ingest.validation import MAX_BODY_BYTES, BatchError
from analytics.selectors import IngestSource, ingest_key_get
from mysetlist.core.clients import meta_client_ip

logger = logging.getLogger(__name__)

PATH = "/api/analytics/events"
NO_KEY = "Send an ingest key: Authorization: Bearer <key>."
SECRET_IN_URL = (
    "A secret ingest key may not be sent in the URL, which access logs keep: send it as"
    " Authorization: Bearer <key>, and make a new key if this one was logged."
)
TOO_LARGE = f"The body is larger than {MAX_BODY_BYTES} bytes."
# How much of a refused body is read and dropped so that its sender reads the answer.
DRAIN_BYTES = 8 * MAX_BODY_BYTES


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: dict


def _unpack(raw: bytes, content_encoding: str) -> bytes:
    if len(raw) > MAX_BODY_BYTES:
        raise BatchError(TOO_LARGE, status=413)
    if content_encoding.lower() != "gzip":
        return raw
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise BatchError("The body is not valid gzip.") from exc
    if len(raw) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise BatchError(f"Unpacked, the body is larger than {MAX_BODY_BYTES} bytes.", 413)
    if not inflater.eof:  # cut short: its checksum was never read
        raise BatchError("The body is not valid gzip: it is cut short.")
    return raw


def ingest_http(
    *,
    raw: bytes,
    content_encoding: str,
    source: IngestSource,
    user_agent: str | None,
    ip: str | None,
) -> HttpAnswer:
    """Parse, validate and store a request body of events; return the HTTP answer."""
    received_at = timezone.now()
    try:
        result = services.events_ingest_json(
            raw=_unpack(raw, content_encoding),
            received_at=received_at,
            source=source,
            user_agent=user_agent,
            ip=ip,
        )
    except BatchError as error:
        return HttpAnswer(error.status, {"message": error.message, "extra": {}})
    except DataError as exc:
        # Something the database refused that validation let through: retrying cannot help.
        logger.warning("events refused by the database: %s", exc)
        return HttpAnswer(400, {"message": "The database refused these events.", "extra": {}})
    errors = [
        {"index": r.index, "message_id": r.message_id, "message": r.message} for r in result.errors
    ]
    if errors and not (result.accepted or result.duplicates or result.bots):
        return HttpAnswer(400, {"message": "No event could be kept.", "extra": {"errors": errors}})
    return HttpAnswer(
        200,
        {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "filtered": result.bots,
            "errors": errors,
        },
    )


def key_secret(meta: dict, query_string: str = "") -> tuple[str | None, bool]:
    """Return the ingest key sent as a bearer token, an X-Ingest-Key header or ?key=, and
    whether it came in the URL.

    The URL is for the tracker's sendBeacon, which cannot set headers, and so for public
    keys only (one is in every page anyway): a caller refuses a secret key found there
    (SECRET_IN_URL), as it is now in access logs.
    """
    header = meta.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip(), False
    if meta.get("HTTP_X_INGEST_KEY"):
        return meta["HTTP_X_INGEST_KEY"], False
    from urllib.parse import parse_qs

    values = parse_qs(query_string).get("key")
    return (values[0], True) if values else (None, False)


def read_body(meta, read) -> bytes:
    """Read a request body of at most MAX_BODY_BYTES; raise BatchError when it is larger or its
    Content-Length is not a number. Without a Content-Length (chunked), one byte past the
    limit is read to tell. A body refused for its size is read on and dropped first (see
    `drain`), so the sender reads the 413 rather than a reset connection."""
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise BatchError("Content-Length is not a number.") from exc
    if declared > MAX_BODY_BYTES:
        drain(meta, read, declared)
        raise BatchError(TOO_LARGE, status=413)
    raw = read(declared if declared > 0 else MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        drain(meta, read, DRAIN_BYTES)
        raise BatchError(TOO_LARGE, status=413)
    return raw


def drain(meta, read, size: int) -> None:
    """Read and drop what is left of a refused body, if that is at most DRAIN_BYTES. A server
    that answers and closes while the client still sends makes the client's next write fail,
    often before it has read the answer; a body larger still is left to that. A client that
    asked `Expect: 100-continue` sends nothing until told to, so nothing is read."""
    if size > DRAIN_BYTES or meta.get("HTTP_EXPECT", "").lower() == "100-continue":
        return
    while size > 0 and (chunk := read(min(size, 1 << 16))):
        size -= len(chunk)


def _refuse(environ, status: int, message: str) -> HttpAnswer:
    """An answer given before the body is read: the body is drained first (see `drain`)."""
    try:
        size = int(environ.get("CONTENT_LENGTH") or DRAIN_BYTES)
    except ValueError:
        size = DRAIN_BYTES
    drain(environ, environ["wsgi.input"].read, size)
    return HttpAnswer(status, {"message": message, "extra": {}})


class CaptureDispatcher:
    """WSGI: POST /api/analytics/events goes straight to ingest_http, the rest to Django."""

    def __init__(self, django_app):
        self.django_app = django_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.django_app(environ, start_response)
        # Django's close_old_connections() for the one database this path uses: going through
        # every alias costs a single event a twentieth of its time.
        connection.close_if_unusable_or_obsolete()
        # No health check before the write (a round trip per event): a connection found dead
        # fails that one request with a 503, which senders retry, and is replaced after it.
        connection.health_check_done = True
        try:
            answer = self._capture(environ)
        except Exception:
            logger.exception("event capture failed")
            answer = HttpAnswer(503, {"message": "Events could not be stored; retry.", "extra": {}})
        finally:
            connection.close_if_unusable_or_obsolete()
        payload = orjson.dumps(answer.body)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(f"{answer.status} {_REASONS.get(answer.status, '')}", headers)
        return [payload]

    @staticmethod
    def _capture(environ) -> HttpAnswer:
        from django.conf import settings

        secret, in_url = key_secret(environ, environ.get("QUERY_STRING", ""))
        if not secret:
            return _refuse(environ, 401, NO_KEY)
        key = ingest_key_get(secret=secret)
        if key is None:
            return _refuse(environ, 401, "Unknown or disabled ingest key.")
        if in_url and not key.is_public:
            return _refuse(environ, 401, SECRET_IN_URL)
        rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["ingest"]
        if not rate_allowed(scope=f"ingest:{key.pk}", rate=rate):
            return _refuse(environ, 429, "Request was throttled.")
        try:
            raw = read_body(environ, environ["wsgi.input"].read)
        except BatchError as error:
            return HttpAnswer(error.status, {"message": error.message, "extra": {}})
        return ingest_http(
            raw=raw,
            content_encoding=environ.get("HTTP_CONTENT_ENCODING", ""),
            source=key,
            user_agent=environ.get("HTTP_USER_AGENT"),
            ip=meta_client_ip(environ),
        )


_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 413: "Content Too Large",
    429: "Too Many Requests", 503: "Service Unavailable",
}  # fmt: skip

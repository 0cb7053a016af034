"""Web push (RFC 8030 with VAPID, RFC 8292, and aes128gcm payloads, RFC 8291): a browser's
subscriptions, kept per user, and the sending of one notification to all of them.

The service worker (static/js/push-sw.js) expects the JSON that `push_payload` builds.
"""

import base64
import binascii
import contextlib
import functools
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from mysetlist.core.exceptions import ApplicationError
from notifications.delivery.endpoints import EndpointSession, Unresolved, push_endpoint_problem
from notifications.models import PushSubscription

logger = logging.getLogger(__name__)

TIMEOUT = 5  # seconds for one push service to answer; a batch holds many sends
GONE = (404, 410)  # the push service forgot the subscription: it never comes back


class NoSubscription(Exception):
    """The user has no push subscription (left): retrying cannot help."""


class PushFailed(Exception):
    """No push service took the push and some failed for a passing reason (5xx, 429,
    network): worth retrying later."""


@dataclass(frozen=True)
class PushReport:
    sent: int  # subscriptions whose push service accepted the push
    removed: int  # subscriptions deleted because their push service said they are gone
    response: str  # each push service's answer, for the delivery's record


def push_enabled() -> bool:
    """Return whether web push is configured (both VAPID keys set)."""
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY)


def push_payload(*, title: str, body: str, url: str, tag: str, category: str) -> dict:
    """Return the payload the service worker shows: `tag` replaces an earlier notification
    with the same tag instead of stacking a second one."""
    return {"title": title, "body": body, "url": url, "tag": tag, "category": category}


def _b64url_decode(value: str) -> bytes:
    # Browsers send unpadded base64url; older clients padded or standard base64.
    value = value.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _endpoint_error(endpoint: str) -> str | None:
    try:
        return push_endpoint_problem(endpoint, allow_local=settings.PUSH_ALLOW_LOCAL_ENDPOINTS)
    except Unresolved as error:
        return str(error)


def _p256dh_normalized(p256dh: str) -> str | None:
    try:
        raw = _b64url_decode(p256dh)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 65 or raw[0] != 4:
        return None
    try:  # on the curve, or every push to it would fail to encrypt
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return None
    return _b64url_encode(raw)


def _auth_normalized(auth: str) -> str | None:
    try:
        raw = _b64url_decode(auth)
    except (binascii.Error, ValueError):
        return None
    return _b64url_encode(raw) if len(raw) == 16 else None


@transaction.atomic
def push_subscribe(*, user, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Store a browser's push subscription for `user` and return it. Subscribing again is
    harmless: the endpoint names the browser, so it takes the new keys, and moves to `user`
    if someone else had subscribed it (another account logged in on that browser)."""
    endpoint = endpoint.strip()
    errors = {}
    if message := _endpoint_error(endpoint):
        errors["endpoint"] = [message]
    key = _p256dh_normalized(p256dh)
    if key is None:
        errors["p256dh"] = ["Must be a base64url uncompressed P-256 public key (65 bytes)."]
    secret = _auth_normalized(auth)
    if secret is None:
        errors["auth"] = ["Must be a base64url 16-byte secret."]
    if not errors:
        try:
            PushSubscription(user=user, endpoint=endpoint, p256dh=key, auth=secret).full_clean(
                exclude=["user"], validate_unique=False
            )
        except ValidationError as error:
            errors = error.message_dict
    if errors:
        raise ApplicationError("This push subscription is not valid.", extra={"fields": errors})
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": key, "auth": secret}
    )
    return subscription


def push_unsubscribe(*, user, endpoint: str) -> bool:
    """Forget `user`'s subscription at `endpoint`; return whether there was one. Another
    user's subscription at that endpoint stays."""
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint.strip()).delete()
    return deleted > 0


@functools.lru_cache(maxsize=4)
def _vapid(private_key: str) -> Vapid:
    """Return the signer of a VAPID private key: parsed once per key, not once per push."""
    private_key = private_key.strip()
    try:
        if private_key.startswith("-----BEGIN"):
            return Vapid.from_pem(private_key.encode())
        return Vapid.from_string(private_key)  # raw 32 bytes or DER, base64url
    except (ValueError, TypeError, binascii.Error) as error:
        raise ImproperlyConfigured(f"VAPID_PRIVATE_KEY is not a usable key: {error}") from error


def vapid_key_pair() -> tuple[str, str]:
    """Return a fresh VAPID key pair as (public, private): the public key as a browser's
    applicationServerKey wants it (base64url uncompressed point), the private key as
    py_vapid reads it (base64url of the raw 32-byte scalar)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url_encode(public), _b64url_encode(private)


def _origin(endpoint: str) -> str:
    # The endpoint's path is the subscription's secret: records name only the service.
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def push_deliver(
    *,
    user_id: int,
    payload: dict,
    ttl: int,
    urgency: str,
    session: EndpointSession | None = None,
) -> PushReport:
    """Send `payload` to every push subscription of the user; return what happened.

    Subscriptions their push service calls gone (404, 410), and those whose endpoint is
    now refused (see push_endpoint_problem), are deleted. Raise NoSubscription
    if the user has none (left), so the delivery fails for good; raise PushFailed if none
    took the push and one failed for a passing reason, so the delivery is retried. A push
    that reached at least one browser is not retried, lest that browser show it twice.
    Through `session`, which a batch of deliveries shares, or a session of its own.
    """
    if not push_enabled():
        raise ImproperlyConfigured("Web push needs VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY.")
    subscriptions = list(PushSubscription.objects.filter(user_id=user_id).order_by("pk"))
    if not subscriptions:
        raise NoSubscription("The user has no push subscription.")
    vapid = _vapid(settings.VAPID_PRIVATE_KEY)
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    sent, gone, failed, answers = 0, [], 0, []
    with contextlib.nullcontext(session) if session else EndpointSession() as session:
        for subscription in subscriptions:
            # Checked again: a host name may resolve to a private address since subscribing.
            # The push goes to the address checked, not to what the name resolves to next.
            try:
                problem = session.check(
                    subscription.endpoint, allow_local=settings.PUSH_ALLOW_LOCAL_ENDPOINTS
                )
            except Unresolved:
                failed += 1
                answers.append(f"{_origin(subscription.endpoint)} does not resolve")
                continue
            if problem:
                gone.append(subscription.pk)
                answers.append(f"{_origin(subscription.endpoint)} refused: {problem}")
                continue
            try:
                answer = webpush(
                    subscription_info={
                        "endpoint": subscription.endpoint,
                        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                    },
                    data=data,
                    vapid_private_key=vapid,
                    # A new dict each time: webpush writes the endpoint's origin into it.
                    vapid_claims={"sub": settings.VAPID_SUBJECT},
                    content_encoding="aes128gcm",
                    ttl=ttl,
                    headers={"Urgency": urgency},
                    timeout=TIMEOUT,
                    requests_session=session,
                )
            except WebPushException as error:
                status = error.status_code
                if status in GONE:
                    gone.append(subscription.pk)
                    answers.append(f"{_origin(subscription.endpoint)} {status} gone")
                else:
                    failed += 1
                    answers.append(f"{_origin(subscription.endpoint)} {status or error.message}")
                continue
            except requests.RequestException as error:
                failed += 1
                answers.append(f"{_origin(subscription.endpoint)} {type(error).__name__}")
                continue
            sent += 1
            answers.append(f"{_origin(subscription.endpoint)} {answer.status_code}")
    if gone:
        PushSubscription.objects.filter(pk__in=gone, user_id=user_id).delete()
        logger.info("removed %d gone or refused push subscriptions of user %s", len(gone), user_id)
    response = "; ".join(answers)[:2000]
    if not sent and failed:
        raise PushFailed(response)
    if not sent:
        raise NoSubscription(f"No push subscription of the user is left: {response}")
    return PushReport(sent=sent, removed=len(gone), response=response)

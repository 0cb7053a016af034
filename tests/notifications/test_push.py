"""Web push against a real push service on this machine: VAPID signatures, RFC 8030 headers,
aes128gcm payloads a browser can decrypt, gone subscriptions, retries, and the pieces a
browser needs (the key pair, the service worker)."""

import base64
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse
from py_vapid import Vapid
from rest_framework.test import APIClient

from mysetlist.core.exceptions import ApplicationError
from notifications.delivery.outbox import deliveries_send
from notifications.delivery.push import (
    NoSubscription,
    PushFailed,
    PushReport,
    push_deliver,
    push_enabled,
    push_payload,
    push_subscribe,
    push_unsubscribe,
)
from notifications.models import Category, Delivery, PushSubscription
from notifications.planning.policy import POLICIES
from notifications.services import notify
from tests.notifications.servers import serve
from tests.notifications.test_endpoints import PRODUCTION_REFUSED
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

SUBJECT = "mailto:push@mysetlist.test"


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def jwt_claims(token: str, public_key: ec.EllipticCurvePublicKey) -> dict:
    """Return the claims of an ES256 JWT after checking its signature (RFC 7515/7518)."""
    signing_input, signature = token.rsplit(".", 1)
    raw = b64decode(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))  # raises if bad
    header, claims = (json.loads(b64decode(part)) for part in signing_input.split("."))
    assert header["alg"] == "ES256"
    return claims


def vapid_authorization(header: str) -> dict:
    """Return the parameters of an `Authorization: vapid t=..., k=...` header (RFC 8292)."""
    scheme, params = header.split(" ", 1)
    assert scheme.lower() == "vapid"
    return dict(part.strip().split("=", 1) for part in params.split(","))


# The push service


@dataclass
class Received:
    path: str
    headers: Message  # names case-insensitive, as in HTTP
    body: bytes
    client_port: int


@dataclass
class PushService:
    origin: str
    received: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # path: status; 201 otherwise

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"

    def answer(self, name: str, status: int) -> None:
        self.answers[f"/push/{name}"] = status


@pytest.fixture
def push_service():
    """A push service on 127.0.0.1 that records each push and answers 201 Created, or the
    status a test set for that endpoint."""
    service = PushService(origin="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real push services

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            service.received.append(Received(self.path, self.headers, body, self.client_address[1]))
            self.send_response(service.answers.get(self.path, 201))
            self.send_header("Location", f"{service.origin}/message/{len(service.received)}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()
    thread.join()


# Keys


@dataclass(frozen=True)
class VapidKeys:
    public: str
    private: str
    public_key: ec.EllipticCurvePublicKey


@pytest.fixture(scope="module")
def vapid_keys() -> VapidKeys:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(b64encode(public_point(key)), b64encode(private), key.public_key())


@pytest.fixture
def push_on(settings, vapid_keys):
    settings.VAPID_PUBLIC_KEY = vapid_keys.public
    settings.VAPID_PRIVATE_KEY = vapid_keys.private
    settings.VAPID_SUBJECT = SUBJECT
    return vapid_keys


@dataclass(frozen=True)
class Browser:
    """A subscribed browser's secrets: what it decrypts pushes with."""

    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        return b64encode(public_point(self.private_key))

    @property
    def auth(self) -> str:
        return b64encode(self.auth_secret)

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(plain)


def new_browser() -> Browser:
    return Browser(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))


def subscribe(user, endpoint: str, browser: Browser | None = None) -> PushSubscription:
    browser = browser or new_browser()
    return push_subscribe(user=user, endpoint=endpoint, p256dh=browser.p256dh, auth=browser.auth)


PAYLOAD = push_payload(
    title="Voting closes in an hour",
    body="The Band, Chicago — 2026-12-01: last chance to vote ✓",
    url="http://localhost:8000/shows/1/",
    tag="voting_closing:1",
    category=Category.VOTING_CLOSING,
)


def deliver(user, category=Category.VOTING_CLOSING, payload=PAYLOAD) -> PushReport:
    policy = POLICIES[category]
    return push_deliver(
        user_id=user.pk, payload=payload, ttl=policy.push_ttl, urgency=policy.push_urgency
    )


# Sending


@pytest.mark.parametrize("category", [Category.VOTING_CLOSING, Category.SETLIST_POSTED])
def test_push_deliver_sends_a_signed_encrypted_push_with_the_policy_headers(
    push_on, push_service, category
):
    fan, other = UserFactory.create_batch(2)
    browser = new_browser()
    subscribe(fan, push_service.endpoint("fan"), browser)
    subscribe(other, push_service.endpoint("other"))
    before = int(time.time())

    report = deliver(fan, category)

    assert report.sent == 1 and report.removed == 0
    assert report.response == f"{push_service.origin} 201"
    [push] = push_service.received  # the other user's browser got nothing
    assert push.path == "/push/fan"
    policy = POLICIES[category]
    assert push.headers["TTL"] == str(policy.push_ttl)
    assert push.headers["Urgency"] == policy.push_urgency
    assert push.headers["Content-Encoding"] == "aes128gcm"
    vapid = vapid_authorization(push.headers["Authorization"])
    assert vapid["k"] == push_on.public
    claims = jwt_claims(vapid["t"], push_on.public_key)
    assert claims["aud"] == push_service.origin
    assert claims["sub"] == SUBJECT
    assert before < claims["exp"] <= int(time.time()) + 86400  # RFC 8292: at most a day
    assert browser.decrypt(push.body) == PAYLOAD


def test_push_deliver_sends_to_every_browser_of_the_user_over_one_connection(push_on, push_service):
    fan = UserFactory()
    laptop, phone = new_browser(), new_browser()
    subscribe(fan, push_service.endpoint("laptop"), laptop)
    subscribe(fan, push_service.endpoint("phone"), phone)

    report = deliver(fan)

    assert (report.sent, report.removed) == (2, 0)
    first, second = push_service.received
    assert laptop.decrypt(first.body) == phone.decrypt(second.body) == PAYLOAD
    assert first.client_port == second.client_port  # one session, kept alive


@pytest.mark.parametrize("gone", [404, 410])
def test_push_deliver_removes_a_subscription_its_service_calls_gone(push_on, push_service, gone):
    fan = UserFactory()
    subscribe(fan, push_service.endpoint("old"))
    subscribe(fan, push_service.endpoint("new"))
    push_service.answer("old", gone)

    report = deliver(fan)

    assert (report.sent, report.removed) == (1, 1)
    assert f"{gone} gone" in report.response
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        push_service.endpoint("new")
    ]


def test_push_deliver_raises_no_subscription_when_every_one_is_gone(push_on, push_service):
    fan = UserFactory()
    subscribe(fan, push_service.endpoint("a"))
    subscribe(fan, push_service.endpoint("b"))
    push_service.answer("a", 410)
    push_service.answer("b", 404)

    with pytest.raises(NoSubscription):
        deliver(fan)

    assert not PushSubscription.objects.exists()


def test_push_deliver_raises_no_subscription_for_a_user_without_any(push_on, push_service):
    with pytest.raises(NoSubscription):
        deliver(UserFactory())

    assert push_service.received == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_push_deliver_raises_for_a_retry_when_the_service_fails(push_on, push_service, status):
    fan = UserFactory()
    subscribe(fan, push_service.endpoint("fan"))
    push_service.answer("fan", status)

    with pytest.raises(PushFailed, match=str(status)):
        deliver(fan)

    assert PushSubscription.objects.filter(user=fan).count() == 1


def test_push_deliver_sends_to_the_address_it_checked_when_the_name_rebinds(
    push_on, push_service, fake_dns
):
    port = urlsplit(push_service.origin).port
    fake_dns.answer("push.test", "127.0.0.1", "127.0.0.2")  # checked, then a neighbour's
    fan = UserFactory()
    browser = new_browser()
    PushSubscription.objects.create(
        user=fan, endpoint=f"http://push.test:{port}/push/fan", p256dh=browser.p256dh,
        auth=browser.auth,
    )  # fmt: skip

    with serve("127.0.0.2", port) as neighbour:
        report = deliver(fan)

    assert report.sent == 1
    assert neighbour.received == []
    [push] = push_service.received
    assert push.headers["Host"] == f"push.test:{port}"
    assert browser.decrypt(push.body) == PAYLOAD
    assert fake_dns.lookups == ["push.test"]  # once, by the check


def test_push_deliver_raises_for_a_retry_when_the_service_is_unreachable(push_on):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fan = UserFactory()
    subscribe(fan, f"http://127.0.0.1:{port}/push/fan")

    with pytest.raises(PushFailed, match="ConnectionError"):
        deliver(fan)

    assert PushSubscription.objects.filter(user=fan).count() == 1


def test_push_deliver_does_not_retry_once_one_browser_has_the_push(push_on, push_service):
    fan = UserFactory()
    subscribe(fan, push_service.endpoint("down"))
    subscribe(fan, push_service.endpoint("up"))
    push_service.answer("down", 500)

    report = deliver(fan)  # a retry would show the push twice on the browser that has it

    assert (report.sent, report.removed) == (1, 0)
    assert f"{push_service.origin} 500" in report.response
    assert PushSubscription.objects.filter(user=fan).count() == 2


def test_push_is_off_without_both_keys(settings, vapid_keys):
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = vapid_keys.public, ""
    assert not push_enabled()
    with pytest.raises(ImproperlyConfigured):
        deliver(UserFactory())

    settings.VAPID_PRIVATE_KEY = vapid_keys.private
    assert push_enabled()


# Subscribing


def test_push_subscribe_stores_the_browser_keys():
    fan = UserFactory()
    browser = new_browser()

    subscription = subscribe(fan, "https://localhost/send/abc", browser)

    subscription.refresh_from_db()
    assert subscription.user == fan
    assert (subscription.p256dh, subscription.auth) == (browser.p256dh, browser.auth)


def test_push_subscribe_normalizes_padded_and_standard_base64():
    browser = new_browser()
    point = base64.b64encode(public_point(browser.private_key)).decode()  # padded, +/
    auth = base64.b64encode(browser.auth_secret).decode()

    subscription = push_subscribe(
        user=UserFactory(), endpoint="https://localhost/send/abc", p256dh=point, auth=auth
    )

    assert (subscription.p256dh, subscription.auth) == (browser.p256dh, browser.auth)


def test_push_subscribe_again_updates_the_keys_and_keeps_one_row():
    fan = UserFactory()
    endpoint = "https://localhost/send/abc"
    first = subscribe(fan, endpoint)
    renewed = new_browser()

    again = subscribe(fan, endpoint, renewed)

    assert again.pk == first.pk
    assert PushSubscription.objects.count() == 1
    assert PushSubscription.objects.get().p256dh == renewed.p256dh


def test_push_subscribe_moves_an_endpoint_to_the_user_who_subscribed_it_last():
    endpoint = "https://localhost/send/abc"
    first, second = UserFactory.create_batch(2)
    subscribe(first, endpoint)

    subscribe(second, endpoint)

    assert list(PushSubscription.objects.values_list("user", flat=True)) == [second.pk]


def test_push_subscribe_in_debug_takes_no_plain_http_to_another_host(settings):
    settings.DEBUG = True  # the setting decides, not DEBUG
    settings.PUSH_ALLOW_LOCAL_ENDPOINTS = True

    with pytest.raises(ApplicationError):
        subscribe(UserFactory(), "http://8.8.8.8/send/abc")


# Where a push may go, as the subscribe API answers (the rules are in test_endpoints.py)


@pytest.mark.parametrize("endpoint", PRODUCTION_REFUSED[:-2])  # the last two are no URLs
def test_the_subscribe_api_refuses_a_non_public_endpoint_with_a_json_400(settings, endpoint):
    settings.PUSH_ALLOW_LOCAL_ENDPOINTS = False  # as in production
    browser = new_browser()
    client = APIClient()
    client.force_authenticate(UserFactory())

    response = client.post(
        reverse("notifications-api:subscribe"),
        {"endpoint": endpoint, "keys": {"p256dh": browser.p256dh, "auth": browser.auth}},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["message"] and list(body["extra"]["fields"]) == ["endpoint"]
    assert not PushSubscription.objects.exists()


def test_production_settings_allow_no_local_push_endpoints(settings):
    assert settings.PUSH_ALLOW_LOCAL_ENDPOINTS  # the test push service is on 127.0.0.1
    production = (Path(settings.BASE_DIR) / "mysetlist/settings/production.py").read_text()
    assert "\nPUSH_ALLOW_LOCAL_ENDPOINTS = False\n" in production


OFF_CURVE = b64encode(b"\x04" + b"\x01" * 64)
COMPRESSED = b64encode(b"\x02" + b"\x01" * 32)


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth", "bad"),
    [
        ("http://8.8.8.8/send/abc", None, None, "endpoint"),
        ("https://push.invalid/send/abc", None, None, "endpoint"),  # does not resolve
        ("ftp://push.example.com/send/abc", None, None, "endpoint"),
        ("push.example.com/send/abc", None, None, "endpoint"),
        ("https://", None, None, "endpoint"),
        ("https://push.example.com/" + "a" * 1000, None, None, "endpoint"),
        ("https://localhost/send/abc", OFF_CURVE, None, "p256dh"),
        ("https://localhost/send/abc", COMPRESSED, None, "p256dh"),
        ("https://localhost/send/abc", "not base64!", None, "p256dh"),
        ("https://localhost/send/abc", "", None, "p256dh"),
        ("https://localhost/send/abc", None, b64encode(b"x" * 15), "auth"),
        ("https://localhost/send/abc", None, b64encode(b"x" * 32), "auth"),
        ("https://localhost/send/abc", None, "@@@@", "auth"),
    ],
)  # fmt: skip
def test_push_subscribe_refuses_what_no_browser_would_send(endpoint, p256dh, auth, bad):
    browser = new_browser()

    with pytest.raises(ApplicationError) as error:
        push_subscribe(
            user=UserFactory(),
            endpoint=endpoint,
            p256dh=browser.p256dh if p256dh is None else p256dh,
            auth=browser.auth if auth is None else auth,
        )

    assert list(error.value.extra["fields"]) == [bad]
    assert not PushSubscription.objects.exists()


def test_push_unsubscribe_removes_only_the_users_own_subscription():
    fan, stranger = UserFactory.create_batch(2)
    endpoint = "https://localhost/send/abc"
    subscribe(fan, endpoint)

    assert push_unsubscribe(user=stranger, endpoint=endpoint) is False
    assert PushSubscription.objects.filter(user=fan).exists()
    assert push_unsubscribe(user=fan, endpoint=endpoint) is True
    assert push_unsubscribe(user=fan, endpoint=endpoint) is False
    assert not PushSubscription.objects.exists()


# What the site and a browser need


def test_vapid_keys_prints_a_pair_that_loads_and_signs(settings, push_service):
    out = StringIO()
    call_command("vapid_keys", stdout=out)

    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert set(lines) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
    public = b64decode(lines["VAPID_PUBLIC_KEY"])
    assert len(public) == 65 and public[0] == 4  # what a browser's applicationServerKey takes
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    signed = Vapid.from_string(lines["VAPID_PRIVATE_KEY"]).sign(
        {"sub": SUBJECT, "aud": "https://push.example.com"}
    )
    vapid = vapid_authorization(signed["Authorization"])
    assert vapid["k"] == lines["VAPID_PUBLIC_KEY"]
    assert jwt_claims(vapid["t"], public_key)["aud"] == "https://push.example.com"

    # and the site pushes with it
    settings.VAPID_PUBLIC_KEY = lines["VAPID_PUBLIC_KEY"]
    settings.VAPID_PRIVATE_KEY = lines["VAPID_PRIVATE_KEY"]
    fan = UserFactory()
    subscribe(fan, push_service.endpoint("fan"))
    assert deliver(fan).sent == 1
    [push] = push_service.received
    jwt_claims(vapid_authorization(push.headers["Authorization"])["t"], public_key)


def test_the_service_worker_is_served_for_the_whole_site(client):
    response = client.get(reverse("notifications:service-worker"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript"
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    assert "showNotification" in script and "notificationclick" in script
    assert urlsplit(reverse("notifications:service-worker")).path == "/notifications/sw.js"


def test_the_preferences_page_offers_no_push_without_keys(client, settings):
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    client.force_login(UserFactory())

    page = client.get(reverse("notifications:preferences")).content.decode()

    assert "data-push-public-key" not in page and "push.js" not in page


def test_the_preferences_page_offers_push_when_keys_are_set(client, push_on):
    subscribe_url = reverse("notifications-api:subscribe")
    client.force_login(UserFactory())

    page = client.get(reverse("notifications:preferences")).content.decode()

    assert "Browser notifications" in page
    assert f'data-push-public-key="{push_on.public}"' in page
    assert 'data-push-sw-url="/notifications/sw.js"' in page
    assert f'data-push-subscribe-url="{subscribe_url}"' in page
    assert "data-push-toggle" in page and "data-push-status" in page
    assert "js/push.js" in page


# Through the outbox


def test_a_notification_goes_out_as_a_push_through_the_outbox(push_on, push_service, settings):
    settings.SITE_URL = "http://localhost:8000"
    fan = UserFactory()
    browser = new_browser()
    subscribe(fan, push_service.endpoint("fan"), browser)
    gone = UserFactory()
    subscribe(gone, push_service.endpoint("gone"))
    push_service.answer("gone", 410)
    notify(
        category=Category.VOTING_CLOSING, user_ids=[fan.pk, gone.pk], key="voting_closing:1",
        context={"show": "Chicago", "url": "http://localhost:8000/shows/1/"},
    )  # fmt: skip
    pushes = Delivery.objects.filter(channel="push")
    assert pushes.count() == 2  # planned only for users with a subscription

    deliveries_send(ids=list(pushes.values_list("pk", flat=True)))

    mine = pushes.get(notification__user=fan)
    assert mine.status == "sent" and mine.provider == "webpush"
    received = next(r for r in push_service.received if r.path == "/push/fan")
    payload = browser.decrypt(received.body)
    assert payload["title"] == "Voting closes soon" and payload["body"] == "Chicago: last call."
    assert "/notifications/c/" in payload["url"]  # through the tracked link
    assert received.headers["Urgency"] == POLICIES[Category.VOTING_CLOSING].push_urgency
    theirs = pushes.get(notification__user=gone)
    assert theirs.status == "failed" and not PushSubscription.objects.filter(user=gone).exists()


def test_a_push_endpoint_refused_at_send_time_fails_the_delivery_and_is_dropped(
    push_on, push_service, settings
):
    fan = UserFactory()
    subscribe(fan, push_service.endpoint("fan"))  # taken while local endpoints were allowed
    settings.PUSH_ALLOW_LOCAL_ENDPOINTS = False  # now it is refused, as a name that
    # resolved to a public address and now resolves to a private one would be
    notify(
        category=Category.VOTING_CLOSING, user_ids=[fan.pk], key="voting_closing:1",
        context={"show": "Chicago", "url": "http://localhost:8000/shows/1/"},
    )  # fmt: skip
    push = Delivery.objects.get(channel="push")

    counts = deliveries_send(ids=[push.pk])

    push.refresh_from_db()
    assert counts == {"failed": 1}
    assert push.status == "failed" and push.attempts == 1  # for good: no retry
    assert "refused" in push.response and "not on the public internet" in push.response
    assert push_service.received == []
    assert not PushSubscription.objects.filter(user=fan).exists()


def test_a_push_endpoint_that_no_longer_resolves_is_retried_and_kept(push_on):
    fan = UserFactory()
    PushSubscription.objects.create(
        user=fan, endpoint="https://push.invalid/push/fan", p256dh=new_browser().p256dh,
        auth=b64encode(os.urandom(16)),
    )  # fmt: skip

    with pytest.raises(PushFailed, match="does not resolve"):
        deliver(fan)

    assert PushSubscription.objects.filter(user=fan).exists()


def test_a_batch_of_pushes_to_one_service_resolves_it_once_and_keeps_its_connection(
    push_on, push_service, fake_dns
):
    port = urlsplit(push_service.origin).port
    fake_dns.answer("push.test", "127.0.0.1")
    fans = UserFactory.create_batch(3)
    for fan in fans:
        browser = new_browser()
        PushSubscription.objects.create(
            user=fan, endpoint=f"http://push.test:{port}/push/{fan.pk}", p256dh=browser.p256dh,
            auth=browser.auth,
        )  # fmt: skip
    notify(
        category=Category.VOTING_CLOSING, user_ids=[fan.pk for fan in fans],
        key="voting_closing:1", context={"show": "Chicago", "url": "/shows/1/"},
    )  # fmt: skip
    pushes = list(Delivery.objects.filter(channel="push").values_list("pk", flat=True))

    counts = deliveries_send(ids=pushes)

    assert counts == {"sent": 3}
    assert fake_dns.lookups == ["push.test"]  # each push checked, its host resolved once
    assert len(push_service.received) == 3
    assert len({push.client_port for push in push_service.received}) == 1  # one connection

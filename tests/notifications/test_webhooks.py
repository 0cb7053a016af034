"""Which provider webhooks are mounted, behind what, and how they answer a body they cannot
read: only the configured provider's, only with basic auth, 400 and never 500."""

import json
import warnings

import pytest
from anymail.exceptions import AnymailNotSupportedWarning
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import Resolver404, resolve, reverse

from mysetlist.settings.email import ESPS
from notifications.models import TrackingEvent
from notifications.tracking.webhooks import TRACKING_VIEWS, webhook_urlpatterns
from tests.core.test_settings import PRODUCTION, run_manage
from tests.notifications.test_tracking import basic_auth, svix_headers
from tests.notifications.webhooks import webhooks_of

pytestmark = pytest.mark.django_db

PROVIDERS = ["resend", "amazon_ses", "sendgrid"]
WITHOUT_WEBHOOKS = ["console", "smtp", "test"]
SENDGRID_EVENT = json.dumps(
    [{"email": "fan@example.com", "timestamp": 1700000000, "event": "delivered",
      "sg_event_id": "sg-1", "anymail_id": "m-1"}]
)  # fmt: skip


@pytest.fixture(autouse=True)
def _quiet_sendgrid():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnymailNotSupportedWarning)
        yield


def path_of(provider: str) -> str:
    return f"/anymail/{provider}/tracking/"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_only_the_configured_providers_webhook_is_mounted(provider):
    with webhooks_of(provider):
        assert resolve(path_of(provider)).url_name == f"{provider}_tracking_webhook"
        assert reverse(f"anymail:{provider}_tracking_webhook") == path_of(provider)
        for other in set(PROVIDERS) - {provider}:
            with pytest.raises(Resolver404):
                resolve(path_of(other))
        with pytest.raises(Resolver404):
            resolve("/anymail/mailgun/tracking/")


@pytest.mark.parametrize("provider", WITHOUT_WEBHOOKS)
def test_no_webhook_is_mounted_for_a_provider_without_one(client, provider):
    with webhooks_of(provider, ANYMAIL={}):
        assert webhook_urlpatterns() == []
        response = client.post(
            path_of("sendgrid"), data=SENDGRID_EVENT, content_type="application/json"
        )

    assert response.status_code == 404
    assert not TrackingEvent.objects.exists()


def test_the_site_mounts_no_webhook_for_the_console_provider(client, settings):
    assert settings.EMAIL_PROVIDER == "console"  # the test settings' provider

    for provider in PROVIDERS:
        response = client.post(
            path_of(provider), data=SENDGRID_EVENT, content_type="application/json",
            **basic_auth(),
        )  # fmt: skip
        assert response.status_code == 404
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_webhook_is_not_mounted_without_its_secret(provider):
    with override_settings(EMAIL_PROVIDER=provider, ANYMAIL={"RESEND_SIGNING_SECRET": "x"}):
        with pytest.raises(ImproperlyConfigured, match="ANYMAIL_WEBHOOK_SECRET"):
            webhook_urlpatterns()


PROBE = (
    "from django.urls import resolve, Resolver404\n"
    "for provider in ('resend', 'amazon_ses', 'sendgrid'):\n"
    "    try:\n"
    "        resolve(f'/anymail/{provider}/tracking/')\n"
    "        print('mounted', provider)\n"
    "    except Resolver404:\n"
    "        print('absent', provider)\n"
)


@pytest.mark.parametrize("provider", ["smtp", "test", "amazon_ses"])
def test_production_mounts_only_the_providers_webhook(provider):
    env = {k: v for k, v in PRODUCTION.items() if k != "ANYMAIL_WEBHOOK_SECRET"}
    if provider == "amazon_ses":
        env["ANYMAIL_WEBHOOK_SECRET"] = PRODUCTION["ANYMAIL_WEBHOOK_SECRET"]
    env["EMAIL_PROVIDER"] = provider

    result = run_manage("shell", "--no-imports", "-c", PROBE, env=env)

    assert result.returncode == 0, result.stderr
    mounted = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("mounted")}
    assert mounted == ({"amazon_ses"} if provider == "amazon_ses" else set())


def test_production_refuses_a_provider_with_webhooks_but_no_secret():
    env = {k: v for k, v in PRODUCTION.items() if k != "ANYMAIL_WEBHOOK_SECRET"}

    result = run_manage("shell", "--no-imports", "-c", PROBE, env=env)

    assert result.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET" in result.stderr


# Bodies the provider's parser cannot read


def sns(message: str, kind: str = "Notification") -> str:
    return json.dumps({"Type": kind, "MessageId": "sns-1", "Message": message})


UNREADABLE = [
    ("resend", "[]"),
    ("resend", "[1, 2]"),
    ("resend", '"text"'),
    ("resend", "null"),
    ("resend", "{}"),
    ("resend", '{"type": "email.opened"}'),
    ("resend", '{"type": "email.opened", "data": []}'),
    ("resend", '{"type": "email.opened", "data": {"tags": 5, "headers": 5}}'),
    ("sendgrid", "not json"),
    ("sendgrid", "{}"),
    ("sendgrid", '{"event": "delivered"}'),
    ("sendgrid", "null"),
    ("sendgrid", "[1]"),
    ("sendgrid", '["x"]'),
    ("sendgrid", '[{"event": "delivered", "timestamp": "yesterday"}]'),
    ("amazon_ses", "[]"),
    ("amazon_ses", "not json"),
    ("amazon_ses", '"text"'),
    ("amazon_ses", sns("not json")),
    ("amazon_ses", sns("[]")),
    ("amazon_ses", sns('{"eventType": "Delivery"}')),
    ("amazon_ses", sns('{"eventType": "Delivery", "mail": [], "delivery": 5}')),
]


def post_raw(client, provider: str, body: str):
    headers = basic_auth()
    if provider == "resend":  # signed, so the body reaches the parser
        headers |= svix_headers("msg_raw", body)
    if provider == "amazon_ses":
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):  # headers that match, so the body reaches the parser
            headers |= {
                "HTTP_X_AMZ_SNS_MESSAGE_TYPE": parsed["Type"],
                "HTTP_X_AMZ_SNS_MESSAGE_ID": parsed["MessageId"],
            }
    with webhooks_of(provider):
        return client.post(
            reverse(f"anymail:{provider}_tracking_webhook"),
            data=body,
            content_type="application/json",
            **headers,
        )


@pytest.mark.parametrize(("provider", "body"), UNREADABLE)
def test_a_body_the_provider_parser_cannot_read_is_a_400(client, provider, body):
    response = post_raw(client, provider, body)

    assert response.status_code == 400
    assert "tracking webhook body" in response.json()["message"]
    assert not TrackingEvent.objects.exists()


# Nested past Python's recursion limit: json.loads raises RecursionError, not ValueError.
DEEP = ["[" * 5000, "[" * 5000 + "]" * 5000, '{"a": ' * 5000]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_body_nested_thousands_deep_is_a_400(client, provider):
    bodies = DEEP + ([sns(body) for body in DEEP] if provider == "amazon_ses" else [])

    for body in bodies:
        response = post_raw(client, provider, body)

        assert response.status_code == 400
        assert "tracking webhook body" in response.json()["message"]
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unreadable_body_without_basic_auth_is_still_refused_as_unauthorized(client, provider):
    with webhooks_of(provider):
        response = client.post(
            reverse(f"anymail:{provider}_tracking_webhook"), data="[]",
            content_type="application/json",
        )  # fmt: skip

    assert response.status_code in (400, 401)
    assert not TrackingEvent.objects.exists()


def test_every_provider_whose_secret_the_settings_require_has_a_webhook():
    assert set(TRACKING_VIEWS) == ESPS

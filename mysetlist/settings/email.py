"""Email: the provider that sends (EMAIL_PROVIDER) and anymail's settings for its webhooks.

Resend and Amazon SES are the production choices; SendGrid works through anymail too, but
anymail no longer tests it against the live service (anymail issue #432). Each provider's
credentials come from the environment, and choosing one without them fails at start-up.
"""

import importlib.util

import environ
from django.core.exceptions import ImproperlyConfigured

from .env import env

__all__ = [
    "ANYMAIL",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_HOST_USER",
    "EMAIL_PORT",
    "EMAIL_PROVIDER",
    "EMAIL_TIMEOUT",
    "EMAIL_USE_TLS",
]

BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "resend": "anymail.backends.resend.EmailBackend",
    "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",
    # Supported, but anymail has dropped official support: it is not live-tested any more.
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
    "test": "anymail.backends.test.EmailBackend",
}
# Providers whose tracking webhooks feed notifications.tracking.providers.
ESPS = {"resend", "amazon_ses", "sendgrid"}


def _required(environment: environ.Env, name: str, provider: str) -> str:
    value = environment.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set {name}: EMAIL_PROVIDER={provider} needs it.")
    return value


def email_settings(environment: environ.Env) -> dict:
    """Return the email settings (EMAIL_BACKEND, ANYMAIL, SMTP) the environment asks for;
    raise ImproperlyConfigured for an unknown provider or one without its credentials."""
    provider = environment.str("EMAIL_PROVIDER", default="console").strip().lower()
    if provider not in BACKENDS:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={provider!r} is not one of {', '.join(sorted(BACKENDS))}."
        )
    anymail: dict = {}
    if provider == "resend":
        anymail["RESEND_API_KEY"] = _required(environment, "RESEND_API_KEY", provider)
    signing_secret = environment.str("RESEND_SIGNING_SECRET", default="")
    if signing_secret:
        # anymail verifies Resend's (svix) signatures with the svix package; without it,
        # every webhook would fail at request time instead of here.
        if importlib.util.find_spec("svix") is None:
            raise ImproperlyConfigured("RESEND_SIGNING_SECRET needs the svix package.")
        anymail["RESEND_SIGNING_SECRET"] = signing_secret

    if provider == "amazon_ses":
        # Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
        # AWS_PROFILE, or the instance or task role); the region must be said.
        region = _required(environment, "AMAZON_SES_REGION", provider)
        anymail["AMAZON_SES_CLIENT_PARAMS"] = {"region_name": region}
        configuration_set = environment.str("AMAZON_SES_CONFIGURATION_SET", default="")
        if configuration_set:  # its event destination (SNS) is what sends tracking events
            anymail["AMAZON_SES_CONFIGURATION_SET_NAME"] = configuration_set

    if provider == "sendgrid":
        anymail["SENDGRID_API_KEY"] = _required(environment, "SENDGRID_API_KEY", provider)
    verification_key = environment.str("SENDGRID_WEBHOOK_VERIFICATION_KEY", default="")
    if verification_key:  # signed event webhook: checked on top of basic auth
        anymail["SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"] = verification_key

    webhook_secret = environment.str("ANYMAIL_WEBHOOK_SECRET", default="")
    if webhook_secret:
        if ":" not in webhook_secret:
            raise ImproperlyConfigured('ANYMAIL_WEBHOOK_SECRET is "user:password" (basic auth).')
        anymail["WEBHOOK_SECRET"] = webhook_secret
    elif provider in ESPS:
        # The tracking webhooks are mounted: without basic auth anyone could post to them.
        _required(environment, "ANYMAIL_WEBHOOK_SECRET", provider)

    return {
        "EMAIL_PROVIDER": provider,
        "EMAIL_BACKEND": BACKENDS[provider],
        "ANYMAIL": anymail,
        "EMAIL_HOST": environment.str("EMAIL_HOST", default="localhost"),
        "EMAIL_PORT": environment.int("EMAIL_PORT", default=25),
        "EMAIL_HOST_USER": environment.str("EMAIL_HOST_USER", default=""),
        "EMAIL_HOST_PASSWORD": environment.str("EMAIL_HOST_PASSWORD", default=""),
        "EMAIL_USE_TLS": environment.bool("EMAIL_USE_TLS", default=False),
        "EMAIL_TIMEOUT": environment.int("EMAIL_TIMEOUT", default=10),
    }


_email = email_settings(env)
EMAIL_PROVIDER = _email["EMAIL_PROVIDER"]
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
ANYMAIL = _email["ANYMAIL"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"]

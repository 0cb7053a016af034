"""The email provider's tracking webhook, through anymail's view for it.

Only the configured provider's URL is mounted (none for console, smtp and test), so nobody
can post events as another provider, and only behind anymail's basic auth. A body the
provider's parser cannot read (not JSON, JSON nested past Python's recursion limit, a list
where an object belongs, a missing field) is answered 400: a 500 would have the provider post
it again and again.
"""

import json
import logging

from anymail.exceptions import AnymailError
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.resend import ResendTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import JsonResponse
from django.urls import URLPattern, path

logger = logging.getLogger(__name__)

TRACKING_VIEWS = {
    "resend": ResendTrackingWebhookView,
    "amazon_ses": AmazonSESTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
}
# What a parser raises on a body of the wrong shape; json.loads (anymail's, svix's, ours)
# raises RecursionError on JSON nested a few thousand deep. Anything else (the database, the
# broker) stays a 500, which the provider retries.
UNREADABLE = (
    AnymailError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
)


class UnreadableBody(Exception):
    """The provider's parser cannot read the request's body."""


def _json(request):
    return json.loads(request.body.decode("utf-8"))


def _resend_shape(request) -> bool:
    body = _json(request)  # one event: {"type": "email.…", "data": {…}}
    return (
        isinstance(body, dict)
        and isinstance(body.get("type"), str)
        and (isinstance(body.get("data"), dict))
    )


def _sendgrid_shape(request) -> bool:
    body = _json(request)  # a list of events, each an object
    return isinstance(body, list) and all(isinstance(event, dict) for event in body)


# Shapes anymail's parser would take without complaint yet read nothing sensible from (an
# object where SendGrid's list belongs is read key by key). Amazon SES's SNS envelope is
# checked by anymail's own validator.
SHAPES = {"Resend": _resend_shape, "SendGrid": _sendgrid_shape}


class ReadableBodyMixin:
    """Answer 400 to a body anymail's parser for the provider cannot read."""

    def run_validators(self, request):
        try:
            super().run_validators(request)
        except SuspiciousOperation:  # a failed check (basic auth, signature): anymail's 400
            raise
        except UNREADABLE as error:  # some validators read the body (SNS, svix)
            raise UnreadableBody(str(error)) from error

    def parse_events(self, request):
        try:
            shape = SHAPES.get(self.esp_name)
            if shape and not shape(request):
                raise UnreadableBody("not the shape of the provider's events")
            return list(super().parse_events(request))
        except UNREADABLE as error:
            raise UnreadableBody(str(error)) from error

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except UnreadableBody as error:
            logger.warning("%s webhook body not readable: %s", self.esp_name, error)
            return JsonResponse(
                {"message": f"This is not a {self.esp_name} tracking webhook body.", "extra": {}},
                status=400,
            )


def _readable(view):
    return type(f"Readable{view.__name__}", (ReadableBodyMixin, view), {})


def webhook_urlpatterns() -> list[URLPattern]:
    """Return the URL of the configured email provider's tracking webhook, under the names
    anymail gives it; none for a provider without one. Raise ImproperlyConfigured if one is
    mounted without anymail's WEBHOOK_SECRET (basic auth)."""
    provider = settings.EMAIL_PROVIDER
    view = TRACKING_VIEWS.get(provider)
    if view is None:
        return []
    if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        raise ImproperlyConfigured(
            f"Set ANYMAIL_WEBHOOK_SECRET: the {provider} tracking webhook is mounted and would "
            "take events from anyone."
        )
    return [
        path(
            f"{provider}/tracking/",
            _readable(view).as_view(),
            name=f"{provider}_tracking_webhook",
        )
    ]

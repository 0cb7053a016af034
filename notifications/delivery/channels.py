"""Sending one delivery on its channel: rendered with the words its channel shows, handed
to the email provider, the inbox, a push service or SMS; and what a batch of sends shares."""

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail
from django.urls import reverse

from experiments import services as experiments_services
from notifications.content.links import inbox_link
from notifications.content.rendering import PARTS, Rendered, render, template_for
from notifications.delivery.breaker import circuit_open_until
from notifications.delivery.endpoints import EndpointSession
from notifications.delivery.push import NoSubscription, push_deliver, push_payload
from notifications.inbox import inbox_group
from notifications.models import Channel, Delivery
from notifications.planning.policy import POLICIES
from notifications.services import unsubscribe_token
from notifications.tracking.engagement import click_token

logger = logging.getLogger(__name__)


# The parts of a notification's words each channel shows; only those are rendered.
CHANNEL_PARTS = {
    Channel.EMAIL: ("subject", "text", "html"),
    Channel.IN_APP: ("in_app_text",),
    Channel.PUSH: ("push_title", "push_body"),
    Channel.SMS: ("push_body",),
}


class PermanentError(Exception):
    """Retrying cannot help (no address, refused recipient)."""


@dataclass(frozen=True)
class Outcome:
    status: str
    provider: str = ""
    message_id: str = ""
    response: str = ""
    live: tuple[str, str, dict] | None = None  # group, event type, payload: sent once recorded


@dataclass(frozen=True)
class Sent:
    delivery: Delivery
    outcome: Outcome
    words: Rendered
    at: dt.datetime

    @property
    def latency_ms(self) -> int:
        return max(0, int((self.at - self.delivery.not_before).total_seconds() * 1000))


class Batch:
    """What the deliveries of one batch share: templates, the site's links, one open mail
    connection, and the outcomes waiting to be recorded."""

    TOKEN = "__token__"  # reverse() leaves it as it is (it would escape braces)

    def __init__(self):
        site = settings.SITE_URL.rstrip("/")
        self.preferences_url = site + reverse("notifications:preferences")
        self.unsubscribe_url = site + reverse("notifications:unsubscribe", args=[self.TOKEN])
        self.domain = urlsplit(site).hostname or "localhost"
        self.site = site + "/"
        self.click_prefix = site + reverse("notifications:click", args=[self.TOKEN])
        self.circuits: dict[str, dt.datetime | None] = {}
        self.templates: dict[tuple[str, str], object] = {}
        self._links: dict[int, dict] = {}
        self._connection = None
        self._push_session: EndpointSession | None = None
        self.waiting: list[Sent] = []
        self.oldest = 0.0  # when the oldest waiting outcome's send began (time.monotonic)

    def template(self, category: str, variant: str = ""):
        """The words of a category, or of one experiment variant of it."""
        if (category, variant) not in self.templates:
            self.templates[category, variant] = template_for(category, variant=variant)
        return self.templates[category, variant]

    def links(self, user_id: int) -> dict:
        if user_id not in self._links:
            head, _, tail = self.unsubscribe_url.rpartition(self.TOKEN)
            self._links[user_id] = {
                "preferences_url": self.preferences_url,
                "unsubscribe_url": head + unsubscribe_token(user_id) + tail,
            }
        return self._links[user_id]

    def click_url(self, delivery_id: int) -> str:
        head, _, tail = self.click_prefix.rpartition(self.TOKEN)
        return head + click_token(delivery_id) + tail

    def circuit(self, provider: str) -> dt.datetime | None:
        """Until when `provider`'s circuit is open, asked once a batch (and after a failure)."""
        if provider not in self.circuits:
            self.circuits[provider] = circuit_open_until(provider=provider)
        return self.circuits[provider]

    def mail_connection(self):
        """The batch's connection to the email provider, opened on first use: a provider
        that cannot be reached fails each email (retried), not the batch."""
        if self._connection is None:
            opened = mail.get_connection()
            opened.open()
            self._connection = opened
        return self._connection

    def push_session(self) -> EndpointSession:
        """The batch's session to push services: each host resolved and checked once a
        batch, its connections kept (see EndpointSession)."""
        if self._push_session is None:
            self._push_session = EndpointSession()
        return self._push_session

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._push_session is not None:
            self._push_session.close()


def _send_email(delivery: Delivery, words: Rendered, links: dict, batch: Batch) -> Outcome:
    user = delivery.notification.user
    if not user.email:
        raise PermanentError("The user has no email address.")
    message = mail.EmailMultiAlternatives(
        subject=words.subject,
        body=words.text,
        to=[user.email],  # one recipient a message: tracking events name it unambiguously
        connection=batch.mail_connection(),
        headers={
            # The same on a resend, so the receiving side drops it as a copy.
            "Message-ID": f"<delivery.{delivery.pk}@{batch.domain}>",
            "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(words.html, "text/html")
    message.send()
    status = getattr(message, "anymail_status", None)
    message_id = str(status.message_id or "") if status else ""
    return Outcome(Delivery.Status.SENT, settings.EMAIL_BACKEND.rsplit(".", 2)[-2], message_id)


def _send_in_app(delivery: Delivery, words: Rendered) -> Outcome:
    notification = delivery.notification
    payload = {
        "id": notification.pk,
        "category": notification.category,
        "text": words.in_app_text,
        "url": inbox_link(notification.context),  # as the inbox page links it
        "created_at": notification.created_at.isoformat(),
    }
    # The inbox row is the record: stored and shown is delivered. Open pages hear of it
    # once that is committed.
    live = (inbox_group(notification.user_id), "inbox.notification", payload)
    return Outcome(Delivery.Status.DELIVERED, "inbox", live=live)


def _send_push(delivery: Delivery, words: Rendered, url: str, batch: Batch) -> Outcome:
    notification = delivery.notification
    policy = POLICIES[notification.category]
    payload = push_payload(
        title=words.push_title, body=words.push_body, url=url,
        tag=f"notification-{notification.pk}", category=notification.category,
    )  # fmt: skip
    try:
        report = push_deliver(
            user_id=notification.user_id, payload=payload, ttl=policy.push_ttl,
            urgency=policy.push_urgency, session=batch.push_session(),
        )  # fmt: skip
    except NoSubscription as error:
        raise PermanentError(str(error) or "The user has no push subscription left.") from error
    return Outcome(Delivery.Status.SENT, "webpush", response=report.response)


def _send_sms(delivery: Delivery, words: Rendered, number: str) -> Outcome:
    if not number:
        raise PermanentError("The user has no SMS number.")
    # Only the console backend exists: a provider plugs in here.
    logger.info("SMS to %s: %s", number, words.push_body)
    return Outcome(Delivery.Status.SENT, "console")


def send_one(delivery: Delivery, batch: Batch) -> tuple[Outcome, Rendered]:
    """Render one delivery and hand it to its channel; raise on failure."""
    notification = delivery.notification
    user = notification.user
    links = batch.links(user.pk)
    context = notification.context | links | {"user": user.get_username()}
    if delivery.channel in (Channel.EMAIL, Channel.PUSH) and context.get("url"):
        # Through the tracked link: the click is recorded, then the user lands on the url.
        context["url"] = batch.click_url(delivery.pk)
    parts = CHANNEL_PARTS.get(delivery.channel, PARTS)
    # The experiment's words while it runs; killed or stopped since fan-out, the default.
    variant = experiments_services.template_variant_now(
        experiment=delivery.experiment, variant=delivery.variant
    )
    template = batch.template(notification.category, variant)
    words = render(notification.category, context, template, parts)
    if delivery.channel == Channel.EMAIL:
        return _send_email(delivery, words, links, batch), words
    if delivery.channel == Channel.IN_APP:
        return _send_in_app(delivery, words), words
    if delivery.channel == Channel.PUSH:
        return _send_push(delivery, words, context.get("url", batch.site), batch), words
    if delivery.channel == Channel.SMS:
        preference = getattr(user, "notification_preference", None)
        return _send_sms(delivery, words, preference.sms_number if preference else ""), words
    raise PermanentError(f"No sender for the {delivery.channel} channel yet.")

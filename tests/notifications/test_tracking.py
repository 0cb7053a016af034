"""Provider tracking webhooks (Resend, Amazon SES, SendGrid) through anymail's real URLs:
each event is stored once, applied to its delivery and counted in analytics."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import warnings

import environ
import pytest
from anymail.exceptions import AnymailNotSupportedWarning
from anymail.signals import AnymailTrackingEvent, tracking
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from analytics.models import Event
from mysetlist.schedules import SCHEDULES
from mysetlist.settings.email import email_settings
from notifications.models import Delivery, Notification, NotificationPreference, TrackingEvent
from notifications.tasks import tracking_events_apply as tracking_events_apply_task
from notifications.tracking.providers import UNMATCHED_GRACE, tracking_events_apply
from tests.notifications.webhooks import webhooks_of
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

PROVIDERS = ["resend", "amazon_ses", "sendgrid"]
KINDS = ["delivered", "bounced", "opened", "clicked", "complained"]
SENT_AT = (timezone.now() - dt.timedelta(minutes=10)).replace(microsecond=0)
HAPPENED_AT = SENT_AT + dt.timedelta(minutes=5)  # 300 seconds after sending


@pytest.fixture(autouse=True)
def _quiet_sendgrid():
    # anymail warns on every SendGrid webhook that it no longer tests SendGrid live.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnymailNotSupportedWarning)
        yield


def basic_auth(credentials: str | None = None) -> dict:
    credentials = credentials or settings.ANYMAIL["WEBHOOK_SECRET"]
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def svix_headers(event_id: str, body: str) -> dict:
    """Sign as svix (Resend's webhook sender) does: HMAC-SHA256 of "id.timestamp.body" under
    the base64 key after "whsec_", base64-encoded, prefixed by the scheme version."""
    key = base64.b64decode(settings.ANYMAIL["RESEND_SIGNING_SECRET"].removeprefix("whsec_"))
    timestamp = str(int(time.time()))
    digest = hmac.new(key, f"{event_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return {
        "HTTP_SVIX_ID": event_id,
        "HTTP_SVIX_TIMESTAMP": timestamp,
        "HTTP_SVIX_SIGNATURE": "v1," + base64.b64encode(digest).decode(),
    }


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Payloads as each provider posts them (shapes from anymail's own webhook tests and the
# providers' docs), for one message, one recipient and one event id.


def resend_post(client, kind, message_id, recipient, event_id, auth=True):
    data = {"email_id": message_id, "from": "MySetlist <noreply@mysetlist.test>"}
    data |= {"to": [recipient], "subject": "The Band announced a show"}
    data["created_at"] = _iso(SENT_AT)
    if kind == "bounced":
        data["bounce"] = {
            "message": "The recipient's email provider sent a hard bounce message, but didn't"
            " specify the reason for the hard bounce."
        }
    if kind == "clicked":
        data["click"] = {
            "ipAddress": "192.0.2.1",
            "link": "https://mysetlist.test/shows/1/",
            "timestamp": _iso(HAPPENED_AT),
            "userAgent": "Mozilla/5.0",
        }
    payload = {"type": f"email.{kind}", "created_at": _iso(HAPPENED_AT), "data": data}
    body = json.dumps(payload)
    headers = svix_headers(f"msg_{event_id}", body)
    with webhooks_of("resend"):
        return client.post(
            reverse("anymail:resend_tracking_webhook"),
            data=body,
            content_type="application/json",
            **headers,
            **(basic_auth() if auth else {}),
        )


SES_TYPES = {
    "delivered": "Delivery",
    "bounced": "Bounce",
    "opened": "Open",
    "clicked": "Click",
    "complained": "Complaint",
}


def amazon_ses_post(client, kind, message_id, recipient, event_id, auth=True):
    ses_type = SES_TYPES[kind]
    event = {
        "eventType": ses_type,
        "mail": {
            "timestamp": _iso(SENT_AT),
            "source": "noreply@mysetlist.test",
            "messageId": message_id,
            "destination": [recipient],
        },
    }
    if kind == "delivered":
        event["delivery"] = {
            "timestamp": _iso(HAPPENED_AT),
            "recipients": [recipient],
            "processingTimeMillis": 546,
            "smtpResponse": "250 ok:  Message 64111812 accepted",
        }
    elif kind == "bounced":
        event["bounce"] = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "status": "5.1.1",
                    "action": "failed",
                    "diagnosticCode": f"smtp; 550 5.1.1 <{recipient}>... User unknown",
                }
            ],
            "timestamp": _iso(HAPPENED_AT),
        }
    elif kind == "complained":
        event["complaint"] = {
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": "abuse",
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "timestamp": _iso(HAPPENED_AT),
        }
    elif kind == "opened":
        event["open"] = {"ipAddress": "192.0.2.1", "timestamp": _iso(HAPPENED_AT)}
    elif kind == "clicked":
        event["click"] = {
            "ipAddress": "192.0.2.1",
            "link": "https://mysetlist.test/shows/1/",
            "timestamp": _iso(HAPPENED_AT),
        }
    sns = {
        "Type": "Notification",
        "MessageId": f"19ba9823-d7f2-53c1-860e-{event_id}",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:mysetlist-ses-events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(event) + "\n",
        "Timestamp": _iso(HAPPENED_AT),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
    }
    with webhooks_of("amazon_ses"):
        return client.post(
            reverse("anymail:amazon_ses_tracking_webhook"),
            data=json.dumps(sns),
            content_type="text/plain; charset=UTF-8",  # SNS posts its JSON as text
            HTTP_X_AMZ_SNS_MESSAGE_TYPE=sns["Type"],
            HTTP_X_AMZ_SNS_MESSAGE_ID=sns["MessageId"],
            **(basic_auth() if auth else {}),
        )


SENDGRID_TYPES = {
    "delivered": "delivered",
    "bounced": "bounce",
    "opened": "open",
    "clicked": "click",
    "complained": "spamreport",
}


def sendgrid_post(client, kind, message_id, recipient, event_id, auth=True):
    event = {
        "email": recipient,
        "timestamp": int(HAPPENED_AT.timestamp()),
        "smtp-id": "<wrfRRvF7Q0GgwUo2CvDmEA@ismtpd0006p1sjc2.sendgrid.net>",
        "sg_event_id": f"sg-{event_id}",
        "sg_message_id": "wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0",
        "event": SENDGRID_TYPES[kind],
        "anymail_id": message_id,  # the message id anymail's SendGrid backend gave the send
    }
    if kind == "delivered":
        event["response"] = "250 2.0.0 OK 1461095248 m143si2210036ioe.159 - gsmtp"
    elif kind == "bounced":
        event |= {
            "status": "5.1.1",
            "type": "bounce",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        }
    elif kind in ("opened", "clicked"):
        event |= {"ip": "192.0.2.1", "useragent": "Mozilla/5.0"}
        if kind == "clicked":
            event["url"] = "https://mysetlist.test/shows/1/"
    with webhooks_of("sendgrid"):
        return client.post(
            reverse("anymail:sendgrid_tracking_webhook"),
            data=json.dumps([event]),
            content_type="application/json",
            **(basic_auth() if auth else {}),
        )


POSTS = {"resend": resend_post, "amazon_ses": amazon_ses_post, "sendgrid": sendgrid_post}


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST one provider event to anymail's tracking URL; the on-commit hand-over runs, and
    Celery is eager, so the event is applied before this returns."""

    def post(provider, kind, message_id, recipient, event_id="1", auth=True):
        with django_capture_on_commit_callbacks(execute=True):
            return POSTS[provider](client, kind, message_id, recipient, event_id, auth=auth)

    return post


@pytest.fixture
def delivery():
    """An email sent ten minutes ago, with the provider's message id recorded."""

    def make(provider: str = "resend", message_id: str = "msg-1") -> Delivery:
        user = UserFactory()
        notification = Notification.objects.create(
            user=user, category="show_announced", key=f"show_announced:1:{user.pk}"
        )
        return Delivery.objects.create(
            notification=notification,
            channel="email",
            status=Delivery.Status.SENT,
            sent_at=SENT_AT,
            provider=provider,
            provider_message_id=message_id,
            template_version=3,
        )

    return make


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", KINDS)
def test_webhook_event_updates_its_delivery_and_analytics(post, delivery, provider, kind):
    sent = delivery(provider, message_id=f"{provider}-message-1")
    user = sent.notification.user

    response = post(provider, kind, sent.provider_message_id, user.email)

    assert response.status_code == 200
    sent.refresh_from_db()
    stored = TrackingEvent.objects.get()
    assert (stored.event_type, stored.message_id, stored.recipient) == (
        kind,
        sent.provider_message_id,
        user.email,
    )
    assert stored.occurred_at == HAPPENED_AT
    assert stored.applied_at is not None
    if kind == "delivered":
        assert (sent.status, sent.delivered_at) == (Delivery.Status.DELIVERED, HAPPENED_AT)
    elif kind == "bounced":
        assert sent.status == Delivery.Status.BOUNCED
        assert sent.response == stored.description
        assert "bounce" in sent.response.lower() or "550 5.1.1" in sent.response
    elif kind == "opened":
        assert (sent.status, sent.opened_at, sent.clicked_at) == ("sent", HAPPENED_AT, None)
    elif kind == "clicked":
        assert (sent.opened_at, sent.clicked_at) == (HAPPENED_AT, HAPPENED_AT)
    elif kind == "complained":
        assert NotificationPreference.objects.get(user=user).unsubscribed_all
    event = Event.objects.get(event=f"notification_{kind}")
    assert event.user_id == user.pk
    expected = {
        "notification_id": sent.notification_id,
        "delivery_id": sent.pk,
        "channel": "email",
        "category": "show_announced",
        "provider": provider,
        "template_version": 3,
    }
    if kind in ("opened", "clicked"):
        expected["seconds_since_sent"] = 300
    assert event.properties == expected


@pytest.mark.parametrize("provider", PROVIDERS)
def test_webhook_posted_twice_is_stored_and_applied_once(post, delivery, provider):
    sent = delivery(provider, message_id="twice")

    for _ in range(2):
        response = post(provider, "opened", "twice", sent.notification.user.email)
        assert response.status_code == 200

    assert TrackingEvent.objects.count() == 1
    assert Event.objects.filter(event="notification_opened").count() == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_webhook_without_basic_auth_is_refused(post, delivery, provider):
    sent = delivery(provider)

    response = post(provider, "complained", sent.provider_message_id, "x@example.com", auth=False)

    # SNS sends credentials only after a 401 asks for them; the others get a 400.
    assert response.status_code == (401 if provider == "amazon_ses" else 400)
    assert not TrackingEvent.objects.exists()
    assert not NotificationPreference.objects.filter(unsubscribed_all=True).exists()


def test_resend_webhook_with_a_bad_signature_is_refused(client, delivery):
    sent = delivery("resend")
    body = json.dumps({"type": "email.opened", "data": {"email_id": sent.provider_message_id}})
    headers = svix_headers("msg_forged", body)

    with webhooks_of("resend"):
        response = client.post(
            reverse("anymail:resend_tracking_webhook"),
            data=body.replace("opened", "complained"),
            content_type="application/json",
            **headers,
            **basic_auth(),
        )

    assert response.status_code == 400
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_webhook_for_an_unknown_message_is_stored_then_set_aside(post, delivery, provider):
    sent = delivery(provider, message_id="ours")

    response = post(provider, "bounced", "not-ours", "someone@example.com")

    assert response.status_code == 200
    stored = TrackingEvent.objects.get()
    assert stored.applied_at is None  # its sender may not have recorded the id yet
    TrackingEvent.objects.update(received_at=timezone.now() - UNMATCHED_GRACE)
    assert tracking_events_apply() == 1
    stored.refresh_from_db()
    assert stored.applied_at is not None
    sent.refresh_from_db()
    assert sent.status == Delivery.Status.SENT
    assert not Event.objects.exists()


def test_event_that_arrives_before_its_message_id_is_recorded_is_applied_later(post, delivery):
    sent = delivery("resend", message_id="")

    post("resend", "delivered", "late-id", sent.notification.user.email)
    Delivery.objects.filter(pk=sent.pk).update(provider_message_id="late-id")
    assert tracking_events_apply() == 1

    sent.refresh_from_db()
    assert sent.status == Delivery.Status.DELIVERED


def test_bounced_delivery_is_never_delivered_again_and_first_open_is_kept(post, delivery):
    sent = delivery("amazon_ses", message_id="m")
    email = sent.notification.user.email

    post("amazon_ses", "bounced", "m", email, event_id="1")
    post("amazon_ses", "delivered", "m", email, event_id="2")
    post("amazon_ses", "opened", "m", email, event_id="3")
    first_open = Delivery.objects.get().opened_at
    post("amazon_ses", "opened", "m", email, event_id="4")

    sent.refresh_from_db()
    assert sent.status == Delivery.Status.BOUNCED
    assert sent.delivered_at is None
    assert sent.response.startswith("Permanent: General; smtp; 550 5.1.1")
    assert sent.opened_at == first_open
    assert Event.objects.filter(event="notification_opened").count() == 2
    assert TrackingEvent.objects.filter(applied_at=None).count() == 0


def test_event_without_a_provider_id_gets_a_stable_derived_one(delivery):
    sent = delivery("resend", message_id="m")
    event = AnymailTrackingEvent(
        event_type="deferred",
        timestamp=HAPPENED_AT,
        event_id=None,
        message_id="m",
        recipient=sent.notification.user.email,
        mta_response="451 4.7.1 try again later",
    )

    for _ in range(2):
        tracking.send(sender=None, event=event, esp_name="Resend")
    tracking_events_apply()

    stored = TrackingEvent.objects.get()
    assert stored.event_id.startswith("sha256:")
    assert stored.description == "451 4.7.1 try again later"
    assert stored.applied_at is not None
    sent.refresh_from_db()
    assert sent.status == Delivery.Status.SENT  # deferred is only recorded
    assert Event.objects.get().event == "notification_deferred"


def test_beat_redrives_events_whose_hand_over_was_lost(client, delivery):
    sent = delivery("sendgrid", message_id="m")
    # Posted outside the on-commit capture: the hand-over to a worker never happens.
    sendgrid_post(client, "delivered", "m", sent.notification.user.email, "1")
    assert TrackingEvent.objects.get().applied_at is None

    assert tracking_events_apply_task.delay().get() == 1

    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    assert any(s.task == "notifications.tracking_events_apply" for s in SCHEDULES)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_locked_by_one_worker_is_skipped_by_another(delivery):
    sent = delivery("resend", message_id="m")
    event = TrackingEvent.objects.create(
        provider="Resend", event_id="e1", event_type="opened", message_id="m"
    )
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                TrackingEvent.objects.select_for_update().get(pk=event.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert locked.wait(10)
        assert tracking_events_apply(ids=[event.pk]) == 0
    finally:
        release.set()
        worker.join()

    assert tracking_events_apply(ids=[event.pk]) == 1
    sent.refresh_from_db()
    assert sent.opened_at is not None


def fake_env(**values) -> environ.Env:
    environment = environ.Env()
    environment.ENVIRON = values
    return environment


def test_email_settings_pick_the_provider_and_need_its_credentials():
    assert email_settings(fake_env())["EMAIL_BACKEND"].endswith("console.EmailBackend")
    with pytest.raises(ImproperlyConfigured, match="RESEND_API_KEY"):
        email_settings(fake_env(EMAIL_PROVIDER="resend", ANYMAIL_WEBHOOK_SECRET="a:b"))
    with pytest.raises(ImproperlyConfigured, match="ANYMAIL_WEBHOOK_SECRET"):
        email_settings(fake_env(EMAIL_PROVIDER="resend", RESEND_API_KEY="re_x"))
    with pytest.raises(ImproperlyConfigured, match="AMAZON_SES_REGION"):
        email_settings(fake_env(EMAIL_PROVIDER="amazon_ses", ANYMAIL_WEBHOOK_SECRET="a:b"))
    with pytest.raises(ImproperlyConfigured, match="SENDGRID_API_KEY"):
        email_settings(fake_env(EMAIL_PROVIDER="sendgrid", ANYMAIL_WEBHOOK_SECRET="a:b"))
    with pytest.raises(ImproperlyConfigured, match="not one of"):
        email_settings(fake_env(EMAIL_PROVIDER="carrier-pigeon"))

    resend = email_settings(
        fake_env(
            EMAIL_PROVIDER="Resend",
            RESEND_API_KEY="re_x",
            ANYMAIL_WEBHOOK_SECRET="a:b",
            RESEND_SIGNING_SECRET="whsec_c2VjcmV0",
        )
    )
    assert resend["EMAIL_BACKEND"] == "anymail.backends.resend.EmailBackend"
    assert resend["ANYMAIL"] == {
        "WEBHOOK_SECRET": "a:b",
        "RESEND_API_KEY": "re_x",
        "RESEND_SIGNING_SECRET": "whsec_c2VjcmV0",
    }
    ses = email_settings(
        fake_env(
            EMAIL_PROVIDER="amazon_ses", AMAZON_SES_REGION="eu-west-1", ANYMAIL_WEBHOOK_SECRET="a:b"
        )
    )
    assert ses["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"] == {"region_name": "eu-west-1"}
    smtp = email_settings(
        fake_env(EMAIL_PROVIDER="smtp", EMAIL_HOST="mail.example.com", EMAIL_PORT="587",
                 EMAIL_USE_TLS="true")
    )  # fmt: skip
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == (
        "mail.example.com",
        587,
        True,
    )

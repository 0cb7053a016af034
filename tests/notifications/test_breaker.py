"""The circuit breaker: a provider failing again and again is left alone for a while, its
deliveries wait without spending attempts, and one success closes it again."""

import pytest
from django.core import mail
from django.utils import timezone

from notifications.delivery.breaker import THRESHOLD, circuit_open_until
from notifications.delivery.outbox import deliveries_send
from notifications.models import Delivery
from notifications.services import notify
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

FAILING = "email:tests.notifications.backends.FailingBackend"


def emails_to(count: int) -> list[int]:
    notify(
        category="show_announced", user_ids=[u.pk for u in UserFactory.create_batch(count)],
        key="show_announced:1", context={"artist": "A", "venue": "B", "date": "C", "url": "/"},
    )  # fmt: skip
    return list(Delivery.objects.filter(channel="email").values_list("pk", flat=True))


def test_repeated_failures_open_the_circuit_and_park_the_rest(settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.FailingBackend"
    ids = emails_to(THRESHOLD + 5)

    counts = deliveries_send(ids=ids)

    assert counts == {"retry": THRESHOLD, "postponed": 5}
    until = circuit_open_until(provider=FAILING)
    assert until is not None and until > timezone.now()
    parked = Delivery.objects.filter(response="provider circuit open")
    assert parked.count() == 5
    assert {d.attempts for d in parked} == {0}  # waiting costs no attempt
    assert {d.not_before for d in parked} == {until}


def test_a_closed_circuit_lets_other_providers_go(settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.FailingBackend"
    deliveries_send(ids=emails_to(THRESHOLD))
    assert circuit_open_until(provider=FAILING) is not None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Delivery.objects.update(not_before=timezone.now(), status="queued")
    counts = deliveries_send(ids=list(Delivery.objects.values_list("pk", flat=True)))

    assert counts.get("sent") == THRESHOLD and len(mail.outbox) == THRESHOLD

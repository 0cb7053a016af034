import pytest

from notifications.delivery.breaker import circuit_reset

PROVIDERS = [
    "email:django.core.mail.backends.locmem.EmailBackend",
    "email:django.core.mail.backends.smtp.EmailBackend",
    "email:tests.notifications.backends.FailingBackend",
    "webpush",
]


@pytest.fixture(autouse=True)
def closed_circuits():
    """Circuits live in the shared cache, which outlives a test: each starts closed."""
    for provider in PROVIDERS:
        circuit_reset(provider=provider)

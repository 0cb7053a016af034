import socket

import pytest

from notifications.delivery.breaker import circuit_reset
from tests.notifications.servers import Resolver

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


@pytest.fixture
def fake_dns(monkeypatch):
    """A resolver whose answers for some names a test sets: the outside world's DNS, which
    may answer one thing to a check and another to the connection after it."""
    resolver = Resolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver

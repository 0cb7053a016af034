"""A real SMTP server on this machine (aiosmtpd) for email tests."""

import asyncio
import contextlib
import socket

from aiosmtpd.controller import Controller


class Inbox:
    """An SMTP handler keeping what it accepts, taking `delay` seconds over each message."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.delay:
            await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_serving(inbox: Inbox, settings):
    """Serve `inbox` on a free port and point Django's SMTP backend at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()

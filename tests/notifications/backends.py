from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """A provider that refuses everything, as one that is down would."""

    def send_messages(self, email_messages):
        raise ConnectionError("connection refused by the provider")

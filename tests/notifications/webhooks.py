"""Mount one email provider's tracking webhook, as its EMAIL_PROVIDER setting would."""

from contextlib import contextmanager
from types import ModuleType

from django.test import override_settings
from django.urls import include, path

from notifications.tracking.webhooks import webhook_urlpatterns


def webhook_urlconf() -> ModuleType:
    """A root URLconf of the webhook URLs the current settings mount, as mysetlist.urls
    has them."""
    urlconf = ModuleType("webhook_urlconf")
    urlconf.urlpatterns = [path("anymail/", include((webhook_urlpatterns(), "anymail")))]
    return urlconf


@contextmanager
def webhooks_of(provider: str, **more_settings):
    """Within, EMAIL_PROVIDER is `provider` and the URLs are those it mounts."""
    with override_settings(EMAIL_PROVIDER=provider, **more_settings):
        with override_settings(ROOT_URLCONF=webhook_urlconf()):
            yield

"""HTTP and WebSocket entry point, served by daphne."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysetlist.settings.local")

# Django must be set up before the routing imports consumers and models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from monitoring.routing import websocket_counted  # noqa: E402
from mysetlist.core.heap import heap_settle  # noqa: E402
from mysetlist.core.live_bridge import with_relay  # noqa: E402
from mysetlist.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": with_relay(django_asgi_app),
        "websocket": websocket_counted(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

heap_settle()  # last: everything the process serves is imported

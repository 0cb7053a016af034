"""Every app's websocket routes, gathered."""

from monitoring.routing import websocket_urlpatterns as dashboards_websocket_urlpatterns
from mysetlist.setlists.routing import websocket_urlpatterns as setlists_websocket_urlpatterns
from notifications.routing import websocket_urlpatterns as notifications_websocket_urlpatterns

websocket_urlpatterns = [
    *setlists_websocket_urlpatterns,
    *notifications_websocket_urlpatterns,
    *dashboards_websocket_urlpatterns,
]

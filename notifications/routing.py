from django.urls import path

from notifications import consumers

websocket_urlpatterns = [
    path("ws/notifications/inbox/", consumers.InboxConsumer.as_asgi()),
]

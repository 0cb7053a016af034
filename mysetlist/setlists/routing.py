from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/shows/<id:show_id>/", consumers.ShowVotesConsumer.as_asgi()),
]

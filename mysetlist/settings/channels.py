"""Channels: Redis channel layer when REDIS_URL is set, an in-memory one otherwise."""

from .env import BASE_DIR, env

_redis_url = env("REDIS_URL", default="")

if _redis_url:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A listener's receive blocks in Redis for up to 5 s (brpop_timeout); redis-py's
                # default socket timeout is also 5 s and would end it with an error, closing
                # every websocket idle that long. Only just longer, as a broadcast after a
                # vote waits this long in the request's thread if Redis stalls.
                "hosts": [
                    {"address": _redis_url, "socket_timeout": 8, "socket_connect_timeout": 3}
                ],
                "prefix": "mysetlist:channels",
            },
        }
    }
else:
    # The groups live in daphne's memory; the Celery worker, beat and commands relay their
    # group sends to it over this Unix socket, where the Procfile has daphne listen too.
    _socket = env("CHANNELS_RELAY_SOCKET", default="") or str(BASE_DIR / "var" / "live.sock")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "mysetlist.core.live_bridge.RelayedChannelLayer",
            "CONFIG": {"socket": _socket},
        }
    }

# Live counts (mysetlist.setlists.live): each vote is published once, over Redis pub/sub
# when there is Redis (else the channel layer above), and each websocket process sends a
# show's changes to its sockets at most once every LIVE_COALESCE_SECONDS.
LIVE_REDIS_URL = _redis_url
LIVE_CHANNEL_PREFIX = "mysetlist:live"
LIVE_COALESCE_SECONDS = 0.025
# The most of a websocket process's time one show's frames may take: a show whose frame
# takes 20 ms to write to its sockets gets one every 100 ms (see mysetlist.setlists.live).
LIVE_SEND_SHARE = 0.2
# How often each process writes its listener counts and sums every process's; a process
# that stops writing drops out of the sums after the TTL.
LIVE_PRESENCE_SECONDS = 1.0
LIVE_PRESENCE_TTL_SECONDS = 15

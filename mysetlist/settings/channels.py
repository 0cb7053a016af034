"""Channels: Redis channel layer when REDIS_URL is set, the in-memory one otherwise."""

from .env import env

_redis_url = env("REDIS_URL", default="")

if _redis_url:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_redis_url], "prefix": "mysetlist:channels"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

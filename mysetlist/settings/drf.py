"""Django REST framework and drf-spectacular."""

from .env import env, env_int

REST_FRAMEWORK = {
    # Token first: DRF answers a client without credentials with the first class's scheme,
    # 401 and WWW-Authenticate: Token; session authentication names none, which made it 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["mysetlist.core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "mysetlist.core.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_THROTTLE_CLASSES": [
        "mysetlist.core.throttling.AnonRateThrottle",
        "mysetlist.core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="120/min"),
        "user": env("THROTTLE_USER", default="600/min"),
        "votes": env("THROTTLE_VOTES", default="120/min"),
        "auth": env("THROTTLE_AUTH", default="10/min"),
        "ingest": env("THROTTLE_INGEST", default="100/s"),
        "push_subscribe": env("THROTTLE_PUSH_SUBSCRIBE", default="30/hour"),
        "notifications_send": env("THROTTLE_NOTIFICATIONS_SEND", default="60/min"),
    },
    # How many proxies sit in front: throttles then identify clients by the address the
    # nearest proxy saw, not by an X-Forwarded-For header anyone can write.
    "NUM_PROXIES": env_int("DRF_NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "mysetlist.core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "mysetlist.core.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MySetlist API",
    "DESCRIPTION": "Vote on the songs you want to hear at an artist's upcoming show.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choices named "kind" in more than one component, each under its own name.
    "ENUM_NAME_OVERRIDES": {"ExportJobKindEnum": "monitoring.exports.models.ExportJob.Kind"},
}

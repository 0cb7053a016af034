from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, throttling

from analytics.ingest.capture import SECRET_IN_URL, key_secret
from analytics.ingest.ratelimit import rate_allowed
from analytics.selectors import ingest_key_get


class IngestKeyAuthentication(authentication.BaseAuthentication):
    """An ingest key in `Authorization: Bearer …`, `X-Ingest-Key`, or, a public key only,
    `?key=` (for sendBeacon, which cannot set headers). Sets request.auth to the key (an
    IngestSource)."""

    def authenticate(self, request):
        secret, in_url = key_secret(request.META, request.META.get("QUERY_STRING", ""))
        if not secret:
            return None
        key = ingest_key_get(secret=secret)
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or disabled ingest key.")
        if in_url and not key.is_public:
            raise exceptions.AuthenticationFailed(SECRET_IN_URL)
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return "Bearer"


class IngestKeyRateThrottle(throttling.SimpleRateThrottle):
    """Requests per ingest key, whatever address they come from, counted by the same
    per-key window as the WSGI capture path (analytics.ingest.ratelimit)."""

    scope = "ingest"

    def allow_request(self, request, view):
        if request.auth is None:
            return True
        return rate_allowed(scope=f"ingest:{request.auth.pk}", rate=self.rate)

    def wait(self):
        return None


class IngestKeyScheme(OpenApiAuthenticationExtension):
    target_class = IngestKeyAuthentication
    name = "ingestKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An analytics ingest key."}

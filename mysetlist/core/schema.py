"""Shared pieces of the OpenAPI description."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import authentication, permissions, serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "message": serializers.CharField(),
        "extra": serializers.DictField(
            help_text="Details; for invalid input, `fields` maps each bad field to its errors."
        ),
    },
)

DESCRIPTIONS = {
    400: "Invalid input; `extra.fields` names each bad field.",
    401: "Not logged in, or the credentials sent are not valid.",
    403: "Not allowed.",
    404: "Not found.",
    409: "Conflicts with the current state; `message` says why.",
    429: "Too many requests.",
}

# Permissions that refuse only anonymous clients: with nothing else, a signed-in client is
# never answered 403.
_ANONYMOUS_ONLY = (
    permissions.AllowAny,
    permissions.IsAuthenticated,
    permissions.IsAuthenticatedOrReadOnly,
)


def error(description: str) -> OpenApiResponse:
    """Return an error response, its body the Error component."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: error(DESCRIPTIONS[code]) for code in codes}


class AutoSchema(SpectacularAutoSchema):
    """Document the errors DRF answers before a view's own code runs, from the view's
    authentication, permission and throttle classes, so that no operation leaves them out."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in errors(*self.implied_error_codes()).items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    response, str(code), direction=direction
                )
        return dict(sorted(responses.items()))

    def implied_error_codes(self) -> list[int]:
        """Return the status codes of errors DRF itself may answer on this operation."""
        view = self.view
        authenticators = view.get_authenticators()
        checks = view.get_permissions()
        codes = set()
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            codes.add(400)  # a body that does not parse
        if authenticators:
            # Credentials that do not hold, or a permission refused to an anonymous client:
            # 401 when the first authenticator names a scheme (WWW-Authenticate), else 403.
            codes.add(401 if authenticators[0].authenticate_header(view.request) else 403)
        if any(not isinstance(check, _ANONYMOUS_ONLY) for check in checks):
            codes.add(403)
        sessions = any(isinstance(a, authentication.SessionAuthentication) for a in authenticators)
        if sessions and self.method not in permissions.SAFE_METHODS:
            codes.add(403)  # a session without its CSRF token
        if view.get_throttles():
            codes.add(429)
        return sorted(codes)

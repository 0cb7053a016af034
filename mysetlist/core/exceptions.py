"""Domain errors and the one renderer of API errors: {"message": ..., "extra": {...}}."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A rule of the domain was broken; the message is safe to show to the user."""

    status_code = 400

    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    status_code = 404


class ConflictError(ApplicationError):
    status_code = 409


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        from rest_framework.response import Response

        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)

    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc.detail, (list, dict)):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        non_field = fields.get("non_field_errors")
        message = str(non_field[0]) if non_field else "Validation error."
        response.data = {"message": message, "extra": {"fields": fields}}
    else:
        response.data = {"message": str(exc.detail), "extra": {}}
    return response

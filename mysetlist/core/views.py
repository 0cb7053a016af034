"""Error pages: JSON under /api/, HTML elsewhere."""

from http import HTTPStatus

from django.http import JsonResponse
from django.shortcuts import render

MESSAGES = {
    400: "Bad request.",
    403: "You are not allowed to do that.",
    404: "Not found.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. It has been logged.",
}


def is_api_request(request) -> bool:
    return request.path_info == "/api" or request.path_info.startswith("/api/")


def error_message(request, status: int) -> str:
    """Return what an error page or API error says for `status`."""
    if status == 405:
        return f'Method "{request.method}" not allowed.'  # as DRF words it
    if status in MESSAGES:
        return MESSAGES[status]
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:  # a status with no name
        return "Error."


def api_error(request, status: int) -> JsonResponse:
    return JsonResponse({"message": error_message(request, status), "extra": {}}, status=status)


def _error(request, status: int):
    if is_api_request(request):
        return api_error(request, status)
    context = {"status": status, "message": error_message(request, status)}
    return render(request, "error.html", context, status=status)


def bad_request(request, exception=None):
    return _error(request, 400)


def permission_denied(request, exception=None):
    if is_api_request(request):
        return api_error(request, 403)
    return render(request, "403.html", {"status": 403}, status=403)


def page_not_found(request, exception=None):
    return _error(request, 404)


def server_error(request):
    return _error(request, 500)


def rate_limited(request, exception=None):
    return _error(request, 429)

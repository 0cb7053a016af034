"""Error pages: JSON under /api/, HTML elsewhere."""

from django.http import JsonResponse
from django.shortcuts import render


def _error(request, status: int, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message, "extra": {}}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "Bad request.")


def permission_denied(request, exception=None):
    return _error(request, 403, "You are not allowed to do that.")


def page_not_found(request, exception=None):
    return _error(request, 404, "Not found.")


def server_error(request):
    return _error(request, 500, "Something went wrong on our side. It has been logged.")


def rate_limited(request, exception=None):
    return _error(request, 429, "Too many attempts. Wait a minute and try again.")

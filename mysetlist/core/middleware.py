from django.http import Http404
from django.shortcuts import render

from .exceptions import ApplicationError, NotFoundError
from .views import api_error, is_api_request


class ApiErrorMiddleware:
    """Answer every error under /api/ as JSON, `{"message": ..., "extra": {}}`, whoever
    made it: Django's own 404 page under DEBUG (which skips handler404), a method refused
    by a view outside DRF, a server error in a middleware.

    Errors DRF or the error handlers already answered as JSON pass untouched.
    """

    KEPT_HEADERS = {"allow", "retry-after", "vary", "www-authenticate"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or response.streaming
            or response.get("Content-Type", "").startswith("application/json")
            or not is_api_request(request)
        ):
            return response
        answer = api_error(request, response.status_code)
        for header, value in response.items():
            if header.lower() in self.KEPT_HEADERS:
                answer[header] = value
        answer.cookies = response.cookies
        return answer


class ApplicationErrorMiddleware:
    """Show a domain error raised by a page view as a page with its message, never a 500.

    API views never reach this: DRF's exception handler answers them first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFoundError):
            raise Http404(exception.message) from exception
        if isinstance(exception, ApplicationError):
            context = {"status": exception.status_code, "message": exception.message}
            return render(request, "error.html", context, status=exception.status_code)
        return None

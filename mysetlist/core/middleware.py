from django.http import Http404
from django.shortcuts import render

from .exceptions import ApplicationError, NotFoundError


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

"""The project's URLs plus a view that fails, for the error figures."""

from django.urls import path

from mysetlist.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def boom(request, n):
    raise RuntimeError("a server error, on purpose")


urlpatterns = [path("test-boom/<int:n>/", boom, name="test-boom"), *urlpatterns]

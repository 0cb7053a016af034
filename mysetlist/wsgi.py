import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysetlist.settings.local")

django_application = get_wsgi_application()

from analytics.public import CaptureDispatcher  # noqa: E402 - needs Django set up
from mysetlist.core.heap import heap_settle  # noqa: E402

# Event capture skips the middleware stack: it is the platform's hottest endpoint.
application = CaptureDispatcher(django_application)

heap_settle()  # last: everything the process serves is imported

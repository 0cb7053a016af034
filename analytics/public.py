"""What the project's wiring and other apps may use of analytics besides its services and
selectors: the WSGI entry to event capture, and a page's word on what it shows."""

from analytics.ingest.capture import CaptureDispatcher
from analytics.middleware import page_about

__all__ = ["CaptureDispatcher", "page_about"]

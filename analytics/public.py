"""What the project's wiring and other apps may use of analytics besides its services and
selectors: the WSGI entry to event capture, a page's word on what it shows, and whether a
request may be tracked at all (a bot, Do-Not-Track, a refused consent)."""

from analytics.ingest.capture import CaptureDispatcher
from analytics.ingest.validation import is_bot
from analytics.middleware import page_about, tracking_allowed

__all__ = ["CaptureDispatcher", "is_bot", "page_about", "tracking_allowed"]

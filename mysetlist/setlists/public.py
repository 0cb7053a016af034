"""What other apps may name of the setlist domain besides its services and selectors: the Show
model as a type (an object a service hands them) and its statuses. Reads and writes of shows
still go through selectors and services."""

from mysetlist.setlists.models import Show

ShowStatus = Show.Status

__all__ = ["Show", "ShowStatus"]

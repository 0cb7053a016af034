"""What other apps may name of the setlist domain besides its services and selectors: the
statuses a show goes through. A show itself reaches them from a service, as an object to read
(its type, for hints, imported under TYPE_CHECKING alone); they never query or save it."""

from mysetlist.setlists.models import Show

ShowStatus = Show.Status

__all__ = ["ShowStatus"]

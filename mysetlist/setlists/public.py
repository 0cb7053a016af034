"""What other apps may name of the setlist domain besides its services and selectors: the
statuses a show goes through. A show reaches them from a service, or through a relation of
their own models (a trigger's show), as an object to read; its type, for hints, is imported
under TYPE_CHECKING alone. They never write it: changes go through the services."""

from mysetlist.setlists.models import Show

ShowStatus = Show.Status

__all__ = ["ShowStatus"]

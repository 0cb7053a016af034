"""What the setlist domain tells other apps about, without knowing who listens."""

from django.dispatch import Signal

# A show moved to a new status, inside the transaction that moved it.
# Arguments: show (the Show), status (the new one), previous (the old one).
show_status_changed = Signal()

# A user cast a new vote at a show, inside the transaction that stored it.
# Arguments: user, show.
vote_recorded = Signal()

"""How often a busy show may send its live frames (pure: no Django, no clock of its own)."""

from dataclasses import dataclass


@dataclass
class Pace:
    """How much of its process a show's frames took lately: a bucket of send time that
    drains at `share` seconds a second and holds `share` seconds (one second's worth). A
    show sends whenever its bucket has room, so a vote on a quiet show goes out at once;
    a show kept busy sends as often as keeps its frames to `share` of the process."""

    share: float
    debt: float = 0.0
    at: float = 0.0

    def sent(self, started: float, took: float, interval: float) -> float:
        """Count a frame that started at `started` and took `took` to write; return when
        the next one may go: `interval` after it at the soonest."""
        done = started + took
        self.debt = max(0.0, self.debt - self.share * (done - self.at)) + took
        self.at = done
        return max(started + interval, done + max(0.0, self.debt - self.share) / self.share)

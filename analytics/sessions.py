"""Sessions and paths over per-person event streams. Pure Python."""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

SESSION_GAP = dt.timedelta(minutes=30)
# Sent by the tracker on its own, not by anything the visitor did.
PASSIVE_EVENTS = frozenset({"$web_vitals", "$pageleave"})


@dataclass(frozen=True)
class Session:
    start: dt.datetime
    end: dt.datetime
    events: list[tuple[dt.datetime, str, str | None]]  # time, event, path

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def pages(self) -> list[str]:
        return [path or "" for _, name, path in self.events if name == "$pageview"]

    @property
    def bounced(self) -> bool:
        """One page seen and nothing done there but what the tracker sends by itself."""
        active = [name for _, name, _ in self.events if name not in PASSIVE_EVENTS]
        return active == ["$pageview"]


def sessionize(events: list[tuple[dt.datetime, str, str | None]], gap=SESSION_GAP) -> list[Session]:
    """Split one person's time-sorted events wherever `gap` passes without any."""
    sessions, current = [], []
    for event in events:
        if current and event[0] - current[-1][0] > gap:
            sessions.append(Session(current[0][0], current[-1][0], current))
            current = []
        current.append(event)
    if current:
        sessions.append(Session(current[0][0], current[-1][0], current))
    return sessions


@dataclass(frozen=True)
class SessionSummary:
    sessions: int
    mean_seconds: float
    median_seconds: float
    pages_per_session: float
    bounce_rate: float


def summarize(sessions: list[Session]) -> SessionSummary:
    if not sessions:
        return SessionSummary(0, 0.0, 0.0, 0.0, 0.0)
    lengths = sorted(s.seconds for s in sessions)
    middle = len(lengths) // 2
    median = lengths[middle] if len(lengths) % 2 else (lengths[middle - 1] + lengths[middle]) / 2
    return SessionSummary(
        sessions=len(sessions),
        mean_seconds=round(sum(lengths) / len(lengths), 3),
        median_seconds=median,
        pages_per_session=round(sum(len(s.pages) for s in sessions) / len(sessions), 4),
        bounce_rate=round(sum(s.bounced for s in sessions) / len(sessions), 4),
    )


def page_transitions(sessions: list[Session]) -> Counter:
    """(page, next page) pairs of consecutive page views within sessions."""
    pairs: Counter = Counter()
    for session in sessions:
        pages = session.pages
        pairs.update(zip(pages, pages[1:], strict=False))
    return pairs

"""Sessions over per-person event streams, for every person at once. Pure Python and numpy."""

import datetime as dt
from dataclasses import dataclass

import numpy as np

SESSION_GAP = dt.timedelta(minutes=30)
# Sent by the tracker on its own, not by anything the visitor did.
PASSIVE_EVENTS = frozenset({"$web_vitals", "$pageleave"})
PAGEVIEW = "$pageview"


@dataclass(frozen=True)
class SessionSummary:
    sessions: int
    mean_seconds: float
    median_seconds: float
    pages_per_session: float
    bounce_rate: float


def session_starts(person: np.ndarray, at: np.ndarray, *, gap: int) -> np.ndarray:
    """Return whether each row starts a session: rows sorted by person and time `at`
    (integers, such as microseconds), a session ends where more than `gap` passes without
    an event of its person."""
    starts = np.ones(len(at), dtype=bool)
    starts[1:] = (person[1:] != person[:-1]) | (at[1:] - at[:-1] > gap)
    return starts


def sessions_summarize(
    person: np.ndarray, at: np.ndarray, pageview: np.ndarray, active: np.ndarray, *, gap: int
) -> SessionSummary:
    """Sessions of the rows, one per event in any order: the person's number, its time in
    microseconds, and whether it is a page view and whether it is active (not passive). A
    session bounced when a page view is its only active event. Seconds are rounded to the
    millisecond, pages per session and the bounce rate (a share, 0 to 1) to 4 places."""
    if not len(at):
        return SessionSummary(0, 0.0, 0.0, 0.0, 0.0)
    order = np.lexsort((at, person))
    person, at = person[order], at[order]
    first = np.flatnonzero(session_starts(person, at, gap=gap))
    last = np.append(first[1:], len(at)) - 1
    seconds = (at[last] - at[first]) / 1_000_000
    pages = np.add.reduceat(pageview[order].astype(np.int64), first)
    actions = np.add.reduceat(active[order].astype(np.int64), first)
    bounced = (pages == 1) & (actions == 1)  # a page view is active
    return SessionSummary(
        sessions=len(first),
        mean_seconds=round(float(seconds.mean()), 3),
        median_seconds=round(float(np.median(seconds)), 3),
        pages_per_session=round(float(pages.mean()), 4),
        bounce_rate=round(float(bounced.mean()), 4),
    )

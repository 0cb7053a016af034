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


@dataclass(frozen=True)
class Sessions:
    """Each session's length (in the rows' time unit), page views and whether it bounced."""

    lengths: np.ndarray
    pages: np.ndarray
    bounced: np.ndarray


def sessions_split(
    person: np.ndarray, at: np.ndarray, pageview: np.ndarray, active: np.ndarray, *, gap: int
) -> Sessions:
    """Sessions of the rows, one per event in any order: the person's number, its time (say,
    in microseconds), and whether it is a page view and whether it is active (not passive).
    A session bounced when a page view is its only active event."""
    if not len(at):
        empty = np.empty(0, dtype=np.int64)
        return Sessions(empty, empty, np.empty(0, dtype=bool))
    order = np.lexsort((at, person))
    person, at = person[order], at[order]
    first = np.flatnonzero(session_starts(person, at, gap=gap))
    last = np.append(first[1:], len(at)) - 1
    pages = np.add.reduceat(pageview[order].astype(np.int64), first)
    actions = np.add.reduceat(active[order].astype(np.int64), first)
    bounced = (pages == 1) & (actions == 1)  # a page view is active
    return Sessions(at[last] - at[first], pages, bounced)


def summary_of(
    *, sessions: int, total: float, pageviews: int, bounces: int, median: float
) -> SessionSummary:
    """A summary from sums over sessions (lengths and median in seconds): seconds rounded to
    the millisecond, pages per session and the bounce rate (a share, 0 to 1) to 4 places."""
    if not sessions:
        return SessionSummary(0, 0.0, 0.0, 0.0, 0.0)
    return SessionSummary(
        sessions=sessions,
        mean_seconds=round(total / sessions, 3),
        median_seconds=round(median, 3),
        pages_per_session=round(pageviews / sessions, 4),
        bounce_rate=round(bounces / sessions, 4),
    )


def sessions_summarize(
    person: np.ndarray, at: np.ndarray, pageview: np.ndarray, active: np.ndarray, *, gap: int
) -> SessionSummary:
    """The summary of the rows' sessions (sessions_split, times in microseconds): how many,
    mean and median length, pages per session and bounce rate."""
    found = sessions_split(person, at, pageview, active, gap=gap)
    seconds = found.lengths / 1_000_000
    return summary_of(
        sessions=len(seconds), total=float(seconds.sum()), pageviews=int(found.pages.sum()),
        bounces=int(found.bounced.sum()),
        median=float(np.median(seconds)) if len(seconds) else 0.0,
    )  # fmt: skip

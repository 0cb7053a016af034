"""The catalog of live figures staff chart and alert on: each a key, words and a unit, and how
to read its value over a span of time. Alert rules, dashboard widgets and exports name a
figure by its key; an unknown key is an error, never a silent zero.

A figure reads what other apps already keep (their selectors, rollups and caches), never
raw events per read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from mysetlist.core.exceptions import ApplicationError

Reader = Callable[[dt.datetime, dt.datetime], float | None]


@dataclass(frozen=True)
class Figure:
    key: str  # e.g. "votes_per_minute"
    name: str  # in words, for pages and messages
    unit: str  # "per minute", "%", "ms", "s", "count"
    read: Reader  # the value over [start, end), or None when nothing can be said


_FIGURES: dict[str, Figure] = {}


def register(figure: Figure) -> Figure:
    """Add a figure to the catalog; a key is registered once."""
    if figure.key in _FIGURES and _FIGURES[figure.key] is not figure:
        raise ValueError(f"A figure {figure.key!r} is registered already.")
    _FIGURES[figure.key] = figure
    return figure


def figure_get(key: str) -> Figure:
    """Return the figure of `key`; ApplicationError naming the known ones when it is unknown."""
    try:
        return _FIGURES[key]
    except KeyError:
        known = ", ".join(sorted(_FIGURES)) or "none"
        raise ApplicationError(
            f"There is no figure {key!r}; the figures are: {known}.",
            {"fields": {"metric": "unknown"}},
        ) from None


def figures() -> list[Figure]:
    """Every figure, by key."""
    return [_FIGURES[key] for key in sorted(_FIGURES)]


def value(key: str, start: dt.datetime, end: dt.datetime) -> float | None:
    """Return the figure's value over [start, end)."""
    return figure_get(key).read(start, end)

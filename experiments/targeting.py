"""Who an experiment is for: a fan's attributes against its targeting. Pure: no Django."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

PLATFORMS = ("web", "ios", "android")


@dataclass(frozen=True)
class Attributes:
    """What is known of the fan asking. `follows` answers whether they follow an artist and
    is only called when an experiment targets followers (it may cost a query)."""

    country: str = ""
    platform: str = "web"
    is_new: bool = False
    is_staff: bool = False
    follows: Callable[[int], bool] = field(default=lambda artist_id: False, compare=False)


@dataclass(frozen=True)
class Targeting:
    countries: frozenset[str] = frozenset()  # upper-case ISO codes; empty: every country
    platforms: frozenset[str] = frozenset()
    visitors: str = "all"  # all | new | returning
    staff: str = "all"  # all | staff | fans
    follows_artist_id: int | None = None

    def admits(self, fan: Attributes) -> bool:
        """Return whether the fan is eligible; the cheap checks come first."""
        if self.staff == "staff" and not fan.is_staff or self.staff == "fans" and fan.is_staff:
            return False
        if self.visitors == "new" and not fan.is_new:
            return False
        if self.visitors == "returning" and fan.is_new:
            return False
        if self.countries and fan.country.upper() not in self.countries:
            return False
        if self.platforms and fan.platform not in self.platforms:
            return False
        return self.follows_artist_id is None or fan.follows(self.follows_artist_id)


def platform_of(user_agent: str) -> str:
    """Return "ios", "android" or "web" for a user agent (the app sends its own name)."""
    agent = user_agent.lower()
    if "iphone" in agent or "ipad" in agent or "ios" in agent.split("/")[0]:
        return "ios"
    if "android" in agent:
        return "android"
    return "web"


def attributes_from(
    meta: dict,
    *,
    is_staff: bool = False,
    is_new: bool = True,
    country_header: str = "HTTP_CF_IPCOUNTRY",
    follows: Callable[[int], bool] | None = None,
) -> Attributes:
    """Return a fan's attributes from a request's META: the country a trusted proxy puts in
    `country_header`, the platform from the user agent."""
    return Attributes(
        country=str(meta.get(country_header, ""))[:2].upper(),
        platform=platform_of(str(meta.get("HTTP_USER_AGENT", ""))),
        is_new=is_new,
        is_staff=is_staff,
        follows=follows or (lambda artist_id: False),
    )

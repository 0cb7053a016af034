"""Where a notification may send people: pages of this site, or of the hosts the site names.

A notification's `url` becomes the href of its inbox entry and the target of its tracked
link, so it is checked when the notification is sent and again when it is followed.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


def link_hosts() -> set[str]:
    """Return the hosts (with their port where links carry one) links may go to: the
    site's own (SITE_URL) and NOTIFICATION_LINK_HOSTS."""
    site = urlsplit(settings.SITE_URL)
    hosts = {site.netloc.lower()} if site.netloc else set()
    return hosts | {host.strip().lower() for host in settings.NOTIFICATION_LINK_HOSTS if host}


def link_problem(url) -> str | None:
    """Return why a notification may not link to `url`, or None if it may: a path on this
    site ("/shows/1/"), or an http(s) URL on a host of link_hosts()."""
    if not isinstance(url, str) or not url:
        return "A link is a non-empty string."
    if url != url.strip() or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return "A link has no spaces around it and no control characters."
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return None  # a path on this site
    try:
        parts = urlsplit(url)
    except ValueError:
        return "This link is not a URL."
    if parts.scheme not in ("http", "https"):
        return "A link is a path on this site (/shows/1/) or an http(s) URL."
    hosts = link_hosts()
    if (
        parts.netloc.lower() not in hosts
        # and the browsers' reading of the URL too (backslashes, "///", ...)
        or not url_has_allowed_host_and_scheme(url, allowed_hosts={parts.netloc})
    ):
        return (
            f"A link goes only to this site or to NOTIFICATION_LINK_HOSTS "
            f"({', '.join(sorted(hosts))}), not to {parts.netloc or 'nowhere'}."
        )
    return None


def link_allowed(url) -> bool:
    """Return whether a notification may link to `url` (see link_problem)."""
    return link_problem(url) is None


def inbox_link(context: dict) -> str:
    """Return the link an inbox item gives its notification: its context's `url`, or ""
    when there is none or it goes where notifications may not link (one stored before
    links were checked)."""
    url = context.get("url", "")
    return url if link_allowed(url) else ""

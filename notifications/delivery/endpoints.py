"""Where a web push may go: an https URL on the public internet, never this server's
neighbours (a subscription's endpoint is whatever a browser, or anyone, posts).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from notifications.models import PushSubscription


class Unresolved(Exception):
    """The endpoint's host name did not resolve now (perhaps for a while): no verdict."""


def _addresses(host: str, port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Unresolved(f"The endpoint's host {host} does not resolve ({error}).") from error
    addresses = set()
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])  # no IPv6 zone id
        if address.version == 6 and address.ipv4_mapped:  # ::ffff:10.0.0.1 is 10.0.0.1
            address = address.ipv4_mapped
        addresses.add(address)
    return addresses


def push_endpoint_problem(endpoint: str, *, allow_local: bool) -> str | None:
    """Return why web push may not be sent to `endpoint`, or None if it may.

    A push service is somewhere on the internet: an https URL whose host resolves only to
    global addresses, never to this machine, a private network, link-local addresses (cloud
    metadata) or anything else not routed on the internet, so that a subscription cannot
    make the server post to its own neighbours. With `allow_local` (development and tests),
    a push service on this machine (loopback addresses only) is taken over http or https.
    Raise Unresolved if the host name does not resolve: no verdict, as it may later.
    """
    if len(endpoint) > PushSubscription._meta.get_field("endpoint").max_length:
        return "The endpoint is too long."
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "The endpoint is not a URL."
    if not host or parts.scheme not in ("https", "http") or parts.username or parts.password:
        return "The endpoint must be an https URL."
    addresses = _addresses(host, port or (443 if parts.scheme == "https" else 80))
    if not addresses:
        raise Unresolved(f"The endpoint's host {host} has no address.")
    if allow_local and all(address.is_loopback for address in addresses):
        return None
    refused = sorted(str(a) for a in addresses if not a.is_global or a.is_multicast)
    if refused:
        return (
            f"The endpoint's host {host} is not on the public internet "
            f"({', '.join(refused)}): a push service must be."
        )
    if parts.scheme != "https":
        return "The endpoint must be an https URL."
    return None

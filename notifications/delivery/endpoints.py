"""Where a web push may go: an https URL on the public internet, never this server's
neighbours (a subscription's endpoint is whatever a browser, or anyone, posts); and a
session that posts to an endpoint at the very address it was checked at.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from notifications.models import PushSubscription


class Unresolved(Exception):
    """The endpoint's host name did not resolve now (perhaps for a while): no verdict."""


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 addresses that carry an IPv4 address a gateway forwards to: NAT64's well-known prefix
# (RFC 6052) and the deprecated IPv4-compatible and SIIT-translated forms keep it in the
# last 32 bits; 6to4 and Teredo have ipaddress's .sixtofour and .teredo.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
# A network's own NAT64 translators (RFC 8215), never global, where Python before 3.12.4
# calls them so; where in the address the IPv4 address sits is the network's choice.
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def _addresses(host: str, port: int) -> list[Address]:
    """Return the addresses `host` resolves to, in the resolver's order of preference."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Unresolved(f"The endpoint's host {host} does not resolve ({error}).") from error
    addresses = {}
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])  # no IPv6 zone id
        if address.version == 6 and address.ipv4_mapped:  # ::ffff:10.0.0.1 is 10.0.0.1
            address = address.ipv4_mapped
        addresses[address] = None
    return list(addresses)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded = []
    if address.sixtofour:
        embedded.append(address.sixtofour)
    if address.teredo:
        embedded.extend(address.teredo)  # the Teredo server and the client
    if any(address in network for network in (NAT64, IPV4_COMPATIBLE, IPV4_TRANSLATED)):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return embedded


def _is_public(address: Address) -> bool:
    """Return whether `address` is routed on the public internet, and so is any IPv4
    address it carries (64:ff9b::a00:1 reaches 10.0.0.1 through a NAT64 gateway)."""
    if not address.is_global or address.is_multicast:
        return False
    if address.version == 4:
        return True
    if address in LOCAL_NAT64:
        return False
    return all(_is_public(embedded) for embedded in _embedded_ipv4(address))


@dataclass(frozen=True)
class Verdict:
    problem: str | None  # why no push may go to the endpoint; None if it may
    address: Address | None = None  # where to connect if it may: all the host's were checked


def endpoint_check(endpoint: str, *, allow_local: bool, resolve=None) -> Verdict:
    """Return whether web push may be sent to `endpoint`, and the address to send it to.

    A push service is somewhere on the internet: an https URL whose host resolves only to
    global addresses, never to this machine, a private network, link-local addresses (cloud
    metadata), an IPv6 address that carries one of those (NAT64, 6to4, Teredo) or anything
    else not routed on the internet, so that a subscription cannot make the server post to
    its own neighbours; on port 443, where push services listen, never another service's
    port. With `allow_local` (development and tests), a push service on this machine
    (loopback addresses only) is taken over http or https on any port.
    Raise Unresolved if the host name does not resolve: no verdict, as it may later.
    `resolve(host, port)` gives the addresses (the resolver's, by default).
    """
    if len(endpoint) > PushSubscription._meta.get_field("endpoint").max_length:
        return Verdict("The endpoint is too long.")
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError:
        return Verdict("The endpoint is not a URL.")
    if not host or parts.scheme not in ("https", "http") or parts.username or parts.password:
        return Verdict("The endpoint must be an https URL.")
    addresses = (resolve or _addresses)(host, port or (443 if parts.scheme == "https" else 80))
    if not addresses:
        raise Unresolved(f"The endpoint's host {host} has no address.")
    if allow_local and all(address.is_loopback for address in addresses):
        return Verdict(None, addresses[0])
    refused = sorted(str(address) for address in addresses if not _is_public(address))
    if refused:
        return Verdict(
            f"The endpoint's host {host} is not on the public internet "
            f"({', '.join(refused)}): a push service must be."
        )
    if parts.scheme != "https":
        return Verdict("The endpoint must be an https URL.")
    if port not in (None, 443):
        return Verdict("The endpoint must be on port 443, where push services listen.")
    return Verdict(None, addresses[0])


def push_endpoint_problem(endpoint: str, *, allow_local: bool) -> str | None:
    """Return why web push may not be sent to `endpoint` (see endpoint_check), or None if it
    may. Raise Unresolved if the host name does not resolve."""
    return endpoint_check(endpoint, allow_local=allow_local).problem


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return (
        parts.scheme,
        parts.hostname or "",
        parts.port or (443 if parts.scheme == "https" else 80),
    )


class _PinnedAdapter(HTTPAdapter):
    """Connect to the address an origin was checked at, whatever its name resolves to now,
    keeping the name for TLS (server name indication and the certificate's check) and the
    Host header; refuse an origin never checked."""

    def __init__(self):
        super().__init__()
        self.pins: dict[tuple[str, str, int], Address] = {}

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        address = self.pins.get(_origin(request.url))
        if address is None:
            raise requests.ConnectionError(
                f"{request.url} was not checked: no push goes there.", request=request
            )
        name, host_params["host"] = host_params["host"], str(address)
        if host_params["scheme"] == "https":  # urllib3 takes the IP address otherwise
            pool_kwargs["server_hostname"] = pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs

    def add_headers(self, request, **kwargs):
        # http.client would name the address it connects to
        request.headers["Host"] = urlsplit(request.url).netloc.rpartition("@")[2]


class EndpointSession(requests.Session):
    """A session that posts only to the push endpoints it checked, each at the address it
    checked (the first its host resolved to): resolving the name again to connect would let
    it answer something else the second time (DNS rebinding). Redirects, which could lead
    anywhere, are not followed."""

    def __init__(self):
        super().__init__()
        self.max_redirects = 0
        self._pinned = _PinnedAdapter()
        # Each host resolved once a session: a batch of pushes to one service asks the
        # resolver once and posts over the connections it keeps to the address checked.
        self._resolved: dict[tuple[str, int], list[Address]] = {}
        self.mount("http://", self._pinned)
        self.mount("https://", self._pinned)

    def check(self, endpoint: str, *, allow_local: bool) -> str | None:
        """Return why no push may go to `endpoint` (see endpoint_check), or None, and then
        let this session post to it, at the address just checked. Raise Unresolved if the
        host name does not resolve."""
        verdict = endpoint_check(endpoint, allow_local=allow_local, resolve=self._resolve)
        if verdict.problem is None:
            try:  # the origin as the request will name it (an international name in ASCII)
                url = requests.Request("POST", endpoint).prepare().url
            except requests.RequestException:
                url = endpoint  # the post fails alike
            self._pinned.pins[_origin(url)] = verdict.address
        return verdict.problem

    def _resolve(self, host: str, port: int) -> list[Address]:
        if (host, port) not in self._resolved:
            self._resolved[(host, port)] = _addresses(host, port)
        return self._resolved[(host, port)]

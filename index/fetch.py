"""The one way Footnote fetches what others point it at: feeds, their entries, /add pages.

`guarded_opener()` is a urllib opener built from the handlers meant and nothing else: http and
https only (no file:, ftp:, data:, no proxy), redirects followed to http(s) only, and every
connection, redirects included, made only to an allowed address. A host name is resolved once,
every address it resolves to is checked, and the socket connects to a checked address (never
resolving the name again, so a name that changes its answer cannot slip past), which is checked
once more on the connected socket. By default only public addresses are allowed;
FOOTNOTE_ALLOW_PRIVATE_URLS (`address_policy(True)`) allows every address, still over http(s).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from collections.abc import Callable
from functools import partial
from typing import IO, Any
from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})

AddressPolicy = Callable[[str], bool]
"""Whether a fetch may connect to an IP address."""

# IPv6 ranges that carry an IPv4 address in their last 32 bits: judged by that IPv4 address.
_EMBEDDING_IPV4 = (
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated); also :: and ::1
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, the well-known prefix
)
# IPv6 ranges that are not public although some Python versions call them global.
_NOT_PUBLIC_IPV6 = (
    ipaddress.IPv6Network("fec0::/10"),  # site-local (deprecated, but routed as private)
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # NAT64 for local use
)


class Refused(OSError):
    """A fetch the guard refused; the message says why and is safe to show."""


class NotPublic(Refused):
    """A host that resolves to an address the policy does not allow."""


def is_public(address: str) -> bool:
    """Whether address is a public unicast IP (not loopback, private, link-local, reserved...).

    An IPv6 address that embeds an IPv4 one (mapped, compatible, translated, NAT64, 6to4) is
    judged by the IPv4 address it leads to.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
        elif any(ip in network for network in _NOT_PUBLIC_IPV6):
            return False
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:  # 2002::/16
        return ip.sixtofour
    if any(ip in network for network in _EMBEDDING_IPV4):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def any_address(address: str) -> bool:
    """Every address, private ones included (FOOTNOTE_ALLOW_PRIVATE_URLS)."""
    return True


def address_policy(allow_private: bool) -> AddressPolicy:
    """The policy of the FOOTNOTE_ALLOW_PRIVATE_URLS setting."""
    return any_address if allow_private else is_public


def _check(host: str, address: str, allowed: AddressPolicy) -> None:
    if not allowed(address):
        raise NotPublic(
            f"{host} resolves to {address}, a loopback, private or link-local address; "
            "I only fetch pages on the public internet."
        )


def _not_web(what: str) -> Refused:
    return Refused(f"{what} was refused: I only fetch http:// and https:// addresses")


def connect_checked(
    host: str, port: int, timeout: float | None, allowed: AddressPolicy
) -> socket.socket:
    """A socket connected to host, at an address that was resolved once and checked.

    Raises:
        NotPublic: host resolves to an address that is not allowed (nothing was connected).
        OSError: no address could be connected.
    """
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in found:
        _check(host, str(sockaddr[0]), allowed)
    error: OSError = OSError(f"{host} has no address")
    for family, kind, proto, _, sockaddr in found:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            _check(host, str(sock.getpeername()[0]), allowed)
        except OSError as exc:
            sock.close()
            if isinstance(exc, NotPublic):
                raise
            error = exc
            continue
        return sock
    raise error


class _GuardedHTTPConnection(http.client.HTTPConnection):
    """Connects through connect_checked; https adds TLS for the host name on top of it."""

    def __init__(self, *args: Any, allowed: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # http.client opens its socket through this attribute (HTTPS wraps that socket).
        self._create_connection = self._connect_checked
        self.allowed = allowed

    def _connect_checked(
        self, address: tuple[str, int], timeout: Any = None, source: Any = None
    ) -> socket.socket:
        host, port = address
        seconds = timeout if isinstance(timeout, int | float) else None
        return connect_checked(host, port, seconds, self.allowed)


class _GuardedHTTPSConnection(_GuardedHTTPConnection, http.client.HTTPSConnection):
    pass


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allowed: AddressPolicy) -> None:
        super().__init__()
        self.allowed = allowed

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_GuardedHTTPConnection, allowed=self.allowed), req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allowed: AddressPolicy) -> None:
        super().__init__()
        self.allowed = allowed

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = partial(_GuardedHTTPSConnection, allowed=self.allowed)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


class _WebRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only (urllib's own also follows ftp:)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme.lower() not in WEB_SCHEMES:
            fp.close()
            raise _not_web(f"a redirect to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _WebOnly(urllib.request.BaseHandler):
    """Refuses every scheme no other handler opens."""

    def unknown_open(self, req: urllib.request.Request) -> None:
        raise _not_web(req.full_url)


def guarded_opener(allowed: AddressPolicy = is_public) -> urllib.request.OpenerDirector:
    """A urllib opener for http(s) that connects only to allowed (by default public) addresses.

    It ignores HTTP(S)_PROXY: through a proxy only the proxy's address could be checked, not
    the page's.
    """
    opener = urllib.request.OpenerDirector()
    for handler in (
        _GuardedHTTPHandler(allowed),
        _GuardedHTTPSHandler(allowed),
        _WebRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _WebOnly(),
    ):
        opener.add_handler(handler)
    return opener

"""Webhook destinations: resolve the host once, validate every address, connect to a validated address.

A webhook URL names a host the enterprise controls, and so is its DNS: a name may resolve to a public address
when it is checked and to 127.0.0.1 or 169.254.169.254 (a cloud's metadata service) a moment later. So the host
is resolved at registration and again at each delivery, every address it resolves to must be public, and the
request goes to one of those very addresses, with the URL's name kept in the Host header and in TLS SNI (the
server's certificate is still checked against the name). Nothing resolves the name again between the check and
the connect, and the client follows no redirect and uses no proxy.

Development (demo, tests) may allow loopback so that a receiver on the same machine works; nothing else that is
not a public address is ever allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

import errors

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (text form, as getaddrinfo gives them)
Resolve = Callable[[str, int], list[str]]

NOT_PUBLIC = "the host is, or resolves to, an address that is not a public internet address"
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class DestinationError(errors.InvalidInput, ValueError):
    """A webhook destination may not be used. The message is for the server log; `reason` is the generic text of
    the delivery log and `shown` what registration may tell the enterprise (never an address its host resolved
    to: that would turn registration into a probe of internal DNS)."""

    reason = "destination refused"

    def __init__(self, detail: str, shown: str | None = None) -> None:
        super().__init__(detail)
        self.shown = shown or detail


class DestinationRefused(DestinationError):
    """The URL, or an address its host resolves to, is not one webhooks are delivered to."""


class DestinationUnresolved(DestinationError):
    """The URL's host resolves to no address."""

    reason = "name not resolved"


def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, through the system resolver (the addresses a connect could use)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationUnresolved(f"{host} does not resolve: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(address))
    return None


def refusal(address: IPAddress, allow_loopback: bool = False) -> str | None:
    """Why no webhook may connect to `address` (a short class name), or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "link-local"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            why = refusal(embedded, allow_loopback)
            if why is not None:
                return f"{why} (IPv4 in IPv6)"
            if address.ipv4_mapped is not None or address in _NAT64:  # reaches exactly that IPv4 address
                return None
        if address in _NAT64_LOCAL:
            return "private"
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    checks = (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared (CGNAT)", address in _CGNAT),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
    )
    for name, hit in checks:
        if hit:
            return name
    return None if address.is_global else "not public"


@dataclass(frozen=True)
class Destination:
    """A webhook URL pinned to the validated addresses its host resolved to."""

    url: httpx.URL
    addresses: tuple[str, ...]

    def via(self, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """The URL that connects to `address`, the Host header naming the original host, and the request
        extensions that keep the original name in TLS SNI (and so in the certificate check)."""
        host = self.url.raw_host.decode("ascii")
        extensions: dict[str, Any] = {"sni_hostname": host} if self.url.scheme == "https" else {}
        target = self.url.copy_with(host=address.split("%", 1)[0])
        return target, {"Host": self.url.netloc.decode("ascii")}, extensions


class DestinationPolicy:
    """Which webhook URLs may be registered and delivered to: https to public addresses (plain http and
    loopback only when `allow_loopback`, as in development)."""

    def __init__(self, allow_loopback: bool = False, resolve: Resolve = system_resolve) -> None:
        self.allow_loopback = allow_loopback
        self.resolve = resolve

    def parse(self, url: str) -> httpx.URL:
        """Check the URL's form: an absolute http(s) URL with a host."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise DestinationRefused(f"not a URL: {exc}") from exc
        if parsed.scheme not in ("https", "http") or not parsed.raw_host:
            raise DestinationRefused("webhook URLs are https:// URLs with a host name")
        if parsed.scheme == "http" and not self.allow_loopback:
            raise DestinationRefused("webhook URLs must be https:// (plain http only to loopback in development)")
        return parsed

    def pin(self, url: str) -> Destination:
        """Resolve the URL's host and validate every address it resolves to; the addresses to connect to."""
        parsed = self.parse(url)
        host = parsed.raw_host.decode("ascii")
        addresses = self.resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
        if not addresses:
            raise DestinationUnresolved(f"{host} resolves to no address")
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError as exc:
                raise DestinationRefused(f"{host} resolved to {text!r}, not an address", NOT_PUBLIC) from exc
            why = refusal(address, self.allow_loopback)
            if why is not None:
                raise DestinationRefused(f"{host} resolves to {text}, a {why} address", NOT_PUBLIC)
            if parsed.scheme == "http" and not (refusal(address) or "").startswith("loopback"):
                raise DestinationRefused("plain http is allowed only to loopback (development)")
        return Destination(parsed, tuple(addresses))

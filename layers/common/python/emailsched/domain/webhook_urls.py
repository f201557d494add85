"""Which webhook URLs and addresses may be called (SSRF): `https` only, and no address that
is loopback, private, link-local, multicast, reserved or otherwise not global, whatever
form it is written in; hosts listed in WEBHOOK_ALLOWED_HOSTS are let through (plain
`http` too). Resolving is the caller's; this module decides."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from emailsched.errors import InvalidRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    path: str  # with its query
    allowed: bool  # listed in WEBHOOK_ALLOWED_HOSTS

    @property
    def host_header(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return shown if self.port == default else f"{shown}:{self.port}"


def refused(message: str) -> InvalidRequest:
    return InvalidRequest("the webhook URL is refused", details=[
        {"field": "url", "message": message}])


def parse(url: str, allowed_hosts: frozenset[str]) -> Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise refused("not a valid URL") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if not host or parts.username is not None or parts.password is not None:
        raise refused("must be an absolute URL with a host and no user or password")
    port = port or (443 if scheme == "https" else 80)
    allowed = host in allowed_hosts or f"{host}:{port}" in allowed_hosts
    if scheme != "https" and not (allowed and scheme == "http"):
        raise refused("must be https")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, path, allowed)


def public(address: Address) -> bool:
    """Whether an address is one that the public internet routes (and so no internal
    service, metadata endpoint or the machine itself)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (
            address.teredo[1] if address.teredo else None)
        if embedded is not None and not public(embedded):
            return False
        if address.is_site_local:
            return False
    bad = (address.is_loopback or address.is_private or address.is_link_local
           or address.is_multicast or address.is_reserved or address.is_unspecified)
    return bool(address.is_global and not bad)


def check_addresses(target: Target, addresses: list[str]) -> list[str]:
    """The addresses that may be connected to; refused when there is none or any of them
    is not public (one bad answer among good ones is how rebinding starts)."""
    if not addresses:
        raise refused(f"{target.host} does not resolve")
    if target.allowed:
        return addresses
    for text in addresses:
        if not public(ipaddress.ip_address(text.split("%", 1)[0])):
            raise refused(f"{target.host} resolves to a private or reserved address")
    return addresses

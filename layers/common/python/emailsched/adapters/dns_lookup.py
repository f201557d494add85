"""DNS through dnspython: a domain's mail hosts (MX, or A/AAAA as RFC 5321's fallback) for
the recipient checks, and the TXT/MX records a sender domain's health is judged on.

DNS_NAMESERVERS (`ip` or `ip:port`, comma-separated) sends every query to given servers
(tests run their own dnsmasq); empty: the system's resolvers. A timeout or a SERVFAIL is
UNKNOWN, never a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import dns.exception
import dns.nameserver
import dns.resolver

from emailsched.adapters.dns_probe import probe_mx
from emailsched.domain.recipient_domains import MailHost

FALLBACK_WORKERS = 16  # domains without MX, asked for A/AAAA through the resolver

_TRANSIENT = (dns.exception.Timeout, dns.resolver.NoNameservers,
              dns.resolver.NoResolverConfiguration)


def parse_nameservers(value: str) -> list[tuple[str, int]]:
    """`ip` or `ip:port` (IPv6: `[ip]:port`), comma-separated, as (address, port) pairs."""
    servers = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        if item.startswith("["):
            host, _, port = item[1:].partition("]:")
        elif item.count(":") == 1:
            host, _, port = item.partition(":")
        else:
            host, port = item, ""
        servers.append((host.rstrip("]"), int(port) if port else 53))
    return servers


def make_resolver(nameservers: str, timeout: float) -> dns.resolver.Resolver:
    """A resolver asking DNS_NAMESERVERS (else the system's), each query given up after
    `timeout` seconds in all."""
    servers = parse_nameservers(nameservers)
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port)
                                for host, port in servers]
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.resolver.Resolver(configure=False)
    resolver.timeout = resolver.lifetime = timeout
    return resolver


class DnsLookup:
    """The lookups the product makes; safe to share between threads (no cache of its own:
    answers are cached per domain in Redis, adapters/redis_domain_cache.py)."""

    def __init__(self, nameservers: str, timeout: float = 3.0):
        self._resolver = make_resolver(nameservers, timeout)
        self.configured = bool(parse_nameservers(nameservers))

    def mail_hosts(self, domains: Sequence[str]) -> dict[str, MailHost]:
        """mail_host of many domains: their MX asked at once (adapters/dns_probe.py), the
        A/AAAA fallback through the resolver for those without one."""
        server = self._first_server()
        if server is None:
            return dict(zip(domains, self._each(self.mail_host, domains), strict=True))
        try:
            probed = probe_mx(server, domains, self._resolver.timeout)
        except OSError:  # no route to the server: not a verdict
            return dict.fromkeys(domains, MailHost.UNKNOWN)
        rest = [d for d, answer in probed.items() if answer is None]
        found = {d: answer for d, answer in probed.items() if answer is not None}
        return {**found, **dict(zip(rest, self._each(self._address_fallback, rest),
                                    strict=True))}

    def _each(self, ask: Callable[[str], MailHost], domains: Sequence[str]) -> list[MailHost]:
        if len(domains) < 2:
            return [ask(d) for d in domains]
        with ThreadPoolExecutor(min(FALLBACK_WORKERS, len(domains))) as pool:
            return list(pool.map(ask, domains))

    def _first_server(self) -> tuple[str, int] | None:
        servers = self._resolver.nameservers
        if not servers:
            return None
        first = servers[0]
        if isinstance(first, dns.nameserver.Do53Nameserver):
            return first.address, first.port
        return (first, self._resolver.port) if isinstance(first, str) else None

    def mail_host(self, domain: str) -> MailHost:
        """FOUND when the domain has an MX (other than RFC 7505's null MX) or else an A or
        AAAA record; NONE for NXDOMAIN or neither; UNKNOWN when DNS did not say."""
        try:
            answer = self._resolver.resolve(domain, "MX", raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return MailHost.NONE
        except _TRANSIENT:
            return MailHost.UNKNOWN
        hosts = [str(r.exchange) for r in answer] if answer.rrset else []
        if hosts:
            return MailHost.NONE if hosts == ["."] else MailHost.FOUND
        return self._address_fallback(domain)

    def _address_fallback(self, domain: str) -> MailHost:
        unknown = False
        for rdtype in ("A", "AAAA"):
            try:
                if self._resolver.resolve(domain, rdtype, raise_on_no_answer=False).rrset:
                    return MailHost.FOUND
            except dns.resolver.NXDOMAIN:
                return MailHost.NONE
            except _TRANSIENT:
                unknown = True
        return MailHost.UNKNOWN if unknown else MailHost.NONE

    def txt(self, name: str) -> list[str] | None:
        """The TXT strings at `name` (each record's parts joined), [] for none, None when
        DNS did not answer."""
        try:
            answer = self._resolver.resolve(name, "TXT", raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except _TRANSIENT:
            return None
        return [b"".join(r.strings).decode("utf-8", "replace")
                for r in answer] if answer.rrset else []

    def mx(self, domain: str) -> list[str] | None:
        """The MX hosts by preference, without the final dot; None when DNS did not answer."""
        try:
            answer = self._resolver.resolve(domain, "MX", raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except _TRANSIENT:
            return None
        records = sorted(answer, key=lambda r: r.preference) if answer.rrset else []
        return [str(r.exchange).rstrip(".") for r in records]

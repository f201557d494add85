"""Recipient domains (SPEC.md "Sender domains and recipient checks"): which domain an
address is at, which names no public DNS ever answers for, and the reasons a recipient is
refused. Pure: the lookups and the disposable list are behind ports."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# RFC 2606 and RFC 6761: names the public DNS never has, used by examples and tests.
RESERVED_SUFFIXES = ("test", "example", "invalid", "localhost", "example.com", "example.net",
                     "example.org")


class Refusal(StrEnum):
    NO_MX = "no_mx"  # neither MX nor A/AAAA: no server takes mail for the domain
    DISPOSABLE = "disposable"  # a throwaway-address service


class MailHost(StrEnum):
    """What DNS said about a domain's mail servers."""

    FOUND = "found"  # MX, or A/AAAA (RFC 5321's fallback)
    NONE = "none"  # NXDOMAIN, or neither record
    UNKNOWN = "unknown"  # timeout, SERVFAIL: not a verdict, the recipient stays


REFUSAL_MESSAGES = {
    Refusal.NO_MX: "no_mx: the domain has no mail server (neither MX nor A/AAAA records)",
    Refusal.DISPOSABLE: "disposable: the domain hands out throwaway addresses",
}


def domain_of(address: str) -> str:
    """The address's domain in lower case, without a trailing dot ('' for none)."""
    return address.rpartition("@")[2].rstrip(".").lower()


def reserved(domain: str) -> bool:
    """Whether `domain` is under a name reserved for examples and tests (RFC 2606/6761)."""
    return any(domain == suffix or domain.endswith("." + suffix)
               for suffix in RESERVED_SUFFIXES)


def removed_counts(refused: Iterable[Refusal]) -> dict[str, int]:
    """`invalidRemoved`: the refused recipients counted by reason, every reason named."""
    counts = {reason.value: 0 for reason in Refusal}
    for reason in refused:
        counts[reason.value] += 1
    return counts

"""Disposable-address domains, from the `disposable-email-domains` package's blocklist
(about 10,000 names), loaded on first use."""

from __future__ import annotations

import functools


@functools.cache
def _blocklist() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def is_disposable(domain: str) -> bool:
    """Whether the domain, or a domain it is under, hands out throwaway addresses."""
    names = _blocklist()
    parts = domain.lower().rstrip(".").split(".")
    return any(".".join(parts[i:]) in names for i in range(len(parts) - 1))

"""Sender domain health (issue 29, SPEC.md "Sender domains and recipient checks"): a
sender's domain looked up (SPF and DMARC TXT, the DKIM selectors, MX, all at once on
threads), judged by domain/domain_health.py, and the answer stored on the sender.

A stored answer younger than a day is served as it is; an older or missing one is checked
again on GET /senders/{id}/dns, and by `refresh_due` on a schedule (the reply poller's),
which checks the senders never checked or checked over a day ago, a few a run.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from emailsched.domain.domain_health import DomainRecords, report, selectors_to_try
from emailsched.domain.recipient_domains import domain_of, reserved
from emailsched.errors import NotFound, ServiceUnavailable
from emailsched.ports import Clock

FRESH_FOR = timedelta(days=1)
REFRESH_PER_RUN = 5  # a run checks at most this many: each may wait DNS_TIMEOUT_SECONDS, after
# the replies, within the poller's minute (5 a run is still thousands of senders a day)


@dataclass(frozen=True)
class DomainTarget:
    sender_id: uuid.UUID
    email: str
    kind: str
    dkim_selector: str | None
    report: dict[str, Any] | None  # the last check, SPEC's answer


class DomainLookup(Protocol):
    def txt(self, name: str) -> list[str] | None: ...

    def mx(self, domain: str) -> list[str] | None: ...


class SenderDomainStore(Protocol):
    def target(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> DomainTarget | None: ...

    def due(self, before: datetime, limit: int) -> list[DomainTarget]: ...

    def set_selector(self, sender_id: uuid.UUID, selector: str | None) -> None: ...

    def save(self, sender_id: uuid.UUID, report: dict[str, Any],
             checked_at: datetime) -> None: ...

    def selectors(self, sender_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]: ...


class DomainHealth:
    def __init__(self, store: SenderDomainStore, lookup: DomainLookup, clock: Clock,
                 skip_reserved: bool = False):
        """`skip_reserved`: the refresh leaves example names (RFC 2606/6761) alone, as the
        system's resolvers never have them (no DNS_NAMESERVERS of our own)."""
        self._store, self._lookup, self._clock = store, lookup, clock
        self._skip_reserved = skip_reserved

    def get(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> dict[str, Any]:
        """The sender's domain health: the stored check if under a day old, else a new one."""
        target = self._store.target(user_id, sender_id)
        if target is None:
            raise NotFound("sender not found")
        stored = target.report
        if stored and datetime.fromisoformat(stored["checkedAt"]) > self._clock.now() - FRESH_FOR:
            return stored
        return self.check(target)

    def check(self, target: DomainTarget) -> dict[str, Any]:
        """Looks the domain up now and stores the answer; ServiceUnavailable when DNS did
        not answer (nothing stored: the old answer, if any, stays)."""
        now, domain = self._clock.now(), domain_of(target.email)
        if self._skip_reserved and reserved(domain):
            return _reserved_report(domain, target.kind, now.isoformat())
        records = self._records(domain, target.dkim_selector)
        answer = report(records, target.kind, now.isoformat())
        self._store.save(target.sender_id, answer, now)
        return answer

    def set_selector(self, sender_id: uuid.UUID, selector: str | None) -> None:
        """The sender's own DKIM selector (None: the common ones only); the next GET
        checks again."""
        self._store.set_selector(sender_id, selector)

    def selectors(self, sender_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The DKIM selectors these senders name (those that name one)."""
        return self._store.selectors(sender_ids)

    def refresh_due(self, limit: int = REFRESH_PER_RUN) -> int:
        """Checks the senders whose check is missing or a day old; how many were checked."""
        checked = 0
        for target in self._store.due(self._clock.now() - FRESH_FOR, limit):
            if self._skip_reserved and reserved(domain_of(target.email)):
                continue
            try:
                self.check(target)
                checked += 1
            except ServiceUnavailable:
                continue  # asked again next run
        return checked

    def _records(self, domain: str, own_selector: str | None) -> DomainRecords:
        selectors = selectors_to_try(own_selector)
        names = [domain, f"_dmarc.{domain}", *(f"{s}._domainkey.{domain}" for s in selectors)]
        with ThreadPoolExecutor(len(names) + 1) as pool:
            mx = pool.submit(self._lookup.mx, domain)
            txts = list(pool.map(self._lookup.txt, names))
        hosts = mx.result()
        if hosts is None or txts[0] is None or txts[1] is None:
            raise ServiceUnavailable(f"DNS did not answer for {domain}: try again later")
        found = [s for s, txt in zip(selectors, txts[2:], strict=True)
                 if txt and any("p=" in t for t in txt)]
        return DomainRecords(domain, txts[0], txts[1], found, hosts)


def _reserved_report(domain: str, kind: str, checked_at: str) -> dict[str, Any]:
    """A name reserved for examples (RFC 2606/6761) has no records anywhere: its report,
    without asking the system's resolvers (offline they would only time out)."""
    answer = report(DomainRecords(domain), kind, checked_at)
    answer["advice"].insert(0, f"{domain} is reserved for examples and tests (RFC 2606): it "
                               "has no DNS records, and mail from it is not delivered. "
                               "Send from a domain of your own.")
    return answer

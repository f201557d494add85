"""Recipients checked before they are scheduled or imported (SPEC.md "Sender domains and
recipient checks"): an address at a disposable-address domain is refused, and one at a
domain with no mail server (neither MX nor A/AAAA) too.

Each distinct domain is looked up once: first in the shared cache, the rest all at once in
the background (adapters/dns_probe.py: many queries in flight on one socket), their
answers cached. A domain DNS did not answer for
(a timeout, SERVFAIL) is not a verdict: its recipients stay, and the caller logs one
warning for the whole list (`Checked.unknown_domains`).

Without servers of our own (DNS_NAMESERVERS empty) the names reserved for examples and
tests (RFC 2606/6761: example.com, *.test, ...) are not looked up: the public DNS never has
them, so the answer would be a refusal of every example address, or a timeout offline.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from emailsched.domain.recipient_domains import MailHost, Refusal, domain_of, reserved


class MailHostLookup(Protocol):
    configured: bool  # servers of our own (DNS_NAMESERVERS)

    def mail_hosts(self, domains: Sequence[str]) -> dict[str, MailHost]:
        """Each domain's answer, asked all at once."""


class DomainCache(Protocol):
    def get_many(self, domains: Iterable[str]) -> dict[str, MailHost]: ...

    def put_many(self, answers: Mapping[str, MailHost]) -> None: ...


@dataclass(frozen=True)
class Checked:
    refused: dict[int, Refusal] = field(default_factory=dict)  # by position in the list
    unknown_domains: int = 0  # domains DNS did not answer for: their recipients kept


class RecipientChecks:
    def __init__(self, disposable: Callable[[str], bool], lookup: MailHostLookup | None,
                 cache: DomainCache | None):
        """`lookup` None: RECIPIENT_DNS_CHECK=false, only the disposable list is checked."""
        self._disposable, self._lookup, self._cache = disposable, lookup, cache

    def check(self, addresses: Sequence[str]) -> Checked:
        domains = [domain_of(address) for address in addresses]
        bad = {d for d in set(domains) if self._disposable(d)}
        hosts = self.mail_hosts(set(domains) - bad)
        unknown = sum(1 for answer in hosts.values() if answer == MailHost.UNKNOWN)
        return Checked(refusals(domains, bad, hosts), unknown)

    def disposable(self, domain: str) -> bool:
        return self._disposable(domain)

    def mail_hosts(self, domains: Iterable[str]) -> dict[str, MailHost]:
        """Each domain's answer, the cached ones first; {} when lookups are off."""
        return self.prefetch(domains)()

    def prefetch(self, domains: Iterable[str]) -> Callable[[], dict[str, MailHost]]:
        """Starts the lookups and returns what waits for their answers: an import reads on
        while its domains are looked up."""
        lookup = self._lookup
        if lookup is None:
            return dict
        wanted = [d for d in domains if lookup.configured or not reserved(d)]
        known = self._cache.get_many(wanted) if self._cache is not None else {}
        missing = [d for d in wanted if d not in known]
        if not missing:
            return lambda: known
        pool = ThreadPoolExecutor(1)  # the lookups run while the caller goes on
        future = pool.submit(lookup.mail_hosts, missing)
        pool.shutdown(wait=False)
        return lambda: self._gathered(known, future)

    def _gathered(self, known: dict[str, MailHost],
                  future: Future[dict[str, MailHost]]) -> dict[str, MailHost]:
        answers = future.result()
        if self._cache is not None:  # an unknown answer is asked again next time
            self._cache.put_many({d: a for d, a in answers.items() if a != MailHost.UNKNOWN})
        return {**known, **answers}


def refusals(domains: Sequence[str], disposable: Collection[str],
             hosts: Mapping[str, MailHost]) -> dict[int, Refusal]:
    """Each refused recipient's reason, by position, given its domain's answers."""
    refused: dict[int, Refusal] = {}
    for i, domain in enumerate(domains):
        if domain in disposable:
            refused[i] = Refusal.DISPOSABLE
        elif hosts.get(domain) == MailHost.NONE:
            refused[i] = Refusal.NO_MX
    return refused


class DomainWatch:
    """A big list's domains looked up while it is read (services/import_job.py): each new
    domain seen joins the next group of lookups, started in the background every `group`
    domains; `refused` waits only for what is still in flight."""

    def __init__(self, checks: RecipientChecks, group: int = 500):
        self._checks, self._group = checks, group
        self._seen: set[str] = set()
        self._new: list[str] = []
        self._waiting: list[Callable[[], dict[str, MailHost]]] = []
        self._disposable: set[str] = set()
        self._hosts: dict[str, MailHost] = {}

    def see(self, address: str) -> None:
        domain = domain_of(address)
        if domain in self._seen:
            return
        self._seen.add(domain)
        if self._checks.disposable(domain):
            self._disposable.add(domain)
            return
        self._new.append(domain)
        if len(self._new) >= self._group:
            self._start()

    def refused(self, addresses: Sequence[str]) -> dict[int, Refusal]:
        """Refusals among `addresses` (each one `see`n before), by position."""
        self._start()
        for wait in self._waiting:
            self._hosts.update(wait())
        self._waiting.clear()
        return refusals([domain_of(a) for a in addresses], self._disposable, self._hosts)

    @property
    def unknown_domains(self) -> int:
        return sum(1 for answer in self._hosts.values() if answer == MailHost.UNKNOWN)

    def _start(self) -> None:
        if self._new:
            self._waiting.append(self._checks.prefetch(self._new))
            self._new = []

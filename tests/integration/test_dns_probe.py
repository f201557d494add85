"""Many domains' MX asked at once over one socket (adapters/dns_probe.py, issue 29) against
a real dnsmasq, and the resolver's A/AAAA fallback after it (adapters/dns_lookup.py)."""

from __future__ import annotations

import pytest

from emailsched.adapters.dns_lookup import DnsLookup
from emailsched.adapters.dns_probe import probe_mx
from emailsched.domain.recipient_domains import MailHost
from emailsched.local.dnsmasq import DnsmasqServer

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.support.dnsmasq"]


def test_each_domain_gets_its_verdict(dnsmasq: DnsmasqServer) -> None:
    answers = DnsLookup(dnsmasq.nameservers, 2).mail_hosts(
        ["good.test", "mail.test", "hostonly.test", "nowhere.test", "outside.example"])
    assert answers == {"good.test": MailHost.FOUND, "mail.test": MailHost.FOUND,
                       "hostonly.test": MailHost.FOUND,  # an A record: RFC 5321's fallback
                       "nowhere.test": MailHost.NONE,  # NXDOMAIN
                       "outside.example": MailHost.UNKNOWN}  # refused: no upstream


def test_a_domain_without_mx_is_left_to_the_fallback(dnsmasq: DnsmasqServer) -> None:
    answers = probe_mx(("127.0.0.1", dnsmasq.port), ["hostonly.test", "bare.test"], 2)
    assert answers == {"hostonly.test": None, "bare.test": MailHost.FOUND}


def test_many_domains_are_answered_in_the_order_asked(dnsmasq: DnsmasqServer) -> None:
    domains = [f"gone{i}.test" for i in range(500)] + ["mail.test"]
    answers = probe_mx(("127.0.0.1", dnsmasq.port), domains, 2)
    assert len(answers) == 501 and answers["mail.test"] == MailHost.FOUND
    assert set(answers.values()) == {MailHost.NONE, MailHost.FOUND}


def test_a_server_that_does_not_answer_is_unknown(silent_dns: str) -> None:
    host, port = silent_dns.split(":")
    answers = probe_mx((host, int(port)), ["a.io", "b.io"], 0.2)
    assert answers == {"a.io": MailHost.UNKNOWN, "b.io": MailHost.UNKNOWN}

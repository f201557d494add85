"""An MX answer's verdict read from its wire form (adapters/dns_probe.py)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

from emailsched.adapters.dns_probe import query_wire, verdict
from emailsched.domain.recipient_domains import MailHost


def answer(*records: str, rcode: int = dns.rcode.NOERROR, truncated: bool = False,
           cname: str | None = None) -> tuple[bytes, int]:
    query = dns.message.make_query("acme.io", "MX")
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if truncated:
        response.flags |= dns.flags.TC
    if cname:
        response.answer.append(dns.rrset.from_text("acme.io.", 60, "IN", "CNAME", cname))
    if records:
        response.answer.append(dns.rrset.from_text("acme.io.", 60, "IN", "MX", *records))
    return response.to_wire(), len(query.to_wire())


def test_an_mx_is_found_and_a_null_mx_is_none() -> None:
    assert verdict(*answer("10 mx1.acme.io.", "20 mx2.acme.io.")) == MailHost.FOUND
    assert verdict(*answer("0 .")) == MailHost.NONE


def test_nxdomain_is_none_and_servfail_unknown() -> None:
    assert verdict(*answer(rcode=dns.rcode.NXDOMAIN)) == MailHost.NONE
    assert verdict(*answer(rcode=dns.rcode.SERVFAIL)) == MailHost.UNKNOWN
    assert verdict(*answer(rcode=dns.rcode.REFUSED)) == MailHost.UNKNOWN


def test_no_mx_a_cname_alone_or_a_truncated_answer_go_to_the_fallback() -> None:
    assert verdict(*answer()) is None
    assert verdict(*answer(cname="other.io.")) is None
    assert verdict(*answer("10 mx.acme.io.", truncated=True)) is None


def test_the_query_is_the_one_dnspython_would_write() -> None:
    message = dns.message.make_query("Bücher.example", "MX")
    message.id = 4242
    assert query_wire(4242, "Bücher.example") == message.to_wire()

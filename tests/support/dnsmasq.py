"""A real DNS server for tests: Debian's dnsmasq on a loopback port (emailsched/local/
dnsmasq.py) serving the zones below under `.test`, where any other name is NXDOMAIN.

In a test module, `pytest_plugins = ["tests.support.dnsmasq"]` and the fixture `dnsmasq`
(its `nameservers` is DNS_NAMESERVERS); `silent_dns` is a server that never answers (a
timeout). Tests are skipped, with the reason, when dnsmasq is not installed (`.ci/run`
installs `dnsmasq-base`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from emailsched.local.dnsmasq import DnsmasqServer, dnsmasq_binary, running_dnsmasq

# good.test: SPF with Google's include, DKIM under `google`, DMARC quarantine: `ok`.
# lax.test: SPF open to all (+all), DKIM under `s1`, DMARC p=none: `warn`.
# bare.test: only an MX: `fail`. mail.test and hostonly.test (an A record, RFC 5321's
# fallback) take mail; nowhere.test and any other name under .test are NXDOMAIN.
ZONES = [
    "local=/test/",
    "mx-host=good.test,aspmx.l.google.com,1",
    'txt-record=good.test,"v=spf1 include:_spf.google.com ~all"',
    'txt-record=google._domainkey.good.test,"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEB"',
    'txt-record=_dmarc.good.test,"v=DMARC1; p=quarantine; adkim=s; rua=mailto:d@good.test"',
    "mx-host=lax.test,mx.lax.test,10",
    'txt-record=lax.test,"v=spf1 a mx +all"',
    'txt-record=s1._domainkey.lax.test,"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEB"',
    'txt-record=_dmarc.lax.test,"v=DMARC1; p=none"',
    "mx-host=bare.test,mx.bare.test,10",
    "mx-host=mail.test,mx.mail.test,10",
    "host-record=hostonly.test,127.0.0.9",
]


def skip_reason() -> str | None:
    if dnsmasq_binary() is None:
        return "dnsmasq is not installed (apt-get install dnsmasq-base; .ci/run does this)"
    return None


@pytest.fixture(scope="session")
def dnsmasq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsmasqServer]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with running_dnsmasq(Path(tmp_path_factory.mktemp("dnsmasq")), ZONES) as server:
        yield server


@pytest.fixture
def silent_dns() -> Iterator[str]:
    """DNS_NAMESERVERS of a server that takes queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sink.getsockname()[1]}"

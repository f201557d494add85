"""Checking a sender's SMTP account before it is stored, against aiosmtpd sinks that
require AUTH: the user reads the server's answer, never their password."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from emailsched.adapters.smtp_account import verify_smtp_account
from emailsched.errors import AccountUnverified
from tests.support.smtp_sinks import ImplicitTlsAuthSink, TlsAuthSink

pytestmark = [pytest.mark.integration,
              # ImplicitTlsAuthSink: aiosmtpd warns about AUTH without STARTTLS, over TLS.
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]
USER, PASSWORD = "mailer@example.com", "s3cret-Passw0rd"


@pytest.fixture
def starttls_sink(tmp_path: Path) -> Iterator[TlsAuthSink]:
    with TlsAuthSink(USER, PASSWORD, cert_dir=tmp_path) as sink:
        yield sink


@pytest.fixture
def tls_sink(tmp_path: Path) -> Iterator[ImplicitTlsAuthSink]:
    with ImplicitTlsAuthSink(USER, PASSWORD, cert_dir=tmp_path) as sink:
        yield sink


def refused(**kwargs: object) -> AccountUnverified:
    with pytest.raises(AccountUnverified) as caught:
        verify_smtp_account(**kwargs)  # type: ignore[arg-type]
    error = caught.value
    assert (error.status, error.code) == (422, "sender_unverified")
    assert PASSWORD not in error.message and PASSWORD not in str(error)
    return error


def test_the_right_password_passes_and_nothing_is_sent(starttls_sink):
    verify_smtp_account("127.0.0.1", starttls_sink.port, "starttls", USER, PASSWORD,
                        verify_tls=False)
    assert starttls_sink.data_attempts == 0 and starttls_sink.messages == []


def test_a_wrong_password_carries_the_servers_535_reply(starttls_sink):
    error = refused(host="127.0.0.1", port=starttls_sink.port, security="starttls",
                    username=USER, password="wrong-" + PASSWORD[:4], verify_tls=False)
    assert error.message.startswith("535") and error.reply_code == 535
    assert error.stage == "auth"


def test_a_wrong_password_is_one_failed_login_at_the_server(starttls_sink):
    # smtplib's login() would go on to LOGIN after PLAIN failed: two strikes towards a
    # provider's account lockout for one "Test connection".
    refused(host="127.0.0.1", port=starttls_sink.port, security="starttls",
            username=USER, password="wrong-" + PASSWORD[:4], verify_tls=False)
    assert len(starttls_sink.auth_mechanisms) == 1


def test_the_password_never_appears_even_when_the_server_echoes_it(starttls_sink):
    error = refused(host="127.0.0.1", port=starttls_sink.port, security="starttls",
                    username=USER, password=USER, verify_tls=False)
    assert error.message.startswith("535")


def test_a_self_signed_certificate_is_refused_while_verification_is_on(starttls_sink):
    error = refused(host="127.0.0.1", port=starttls_sink.port, security="starttls",
                    username=USER, password=PASSWORD)
    assert "certificate" in error.message.lower() and error.stage == "connect"
    verify_smtp_account("127.0.0.1", starttls_sink.port, "starttls", USER, PASSWORD,
                        verify_tls=False)


def test_a_server_that_offers_auth_only_after_starttls_refuses_a_plain_login(starttls_sink):
    error = refused(host="127.0.0.1", port=starttls_sink.port, security="none",
                    username=USER, password=PASSWORD)
    assert "does not offer AUTH" in error.message and error.stage == "auth"


def test_implicit_tls_logs_in(tls_sink):
    verify_smtp_account("127.0.0.1", tls_sink.port, "tls", USER, PASSWORD, verify_tls=False)
    error = refused(host="127.0.0.1", port=tls_sink.port, security="tls", username=USER,
                    password="nope", verify_tls=False)
    assert error.message.startswith("535")


def test_implicit_tls_verifies_the_certificate_too(tls_sink):
    error = refused(host="127.0.0.1", port=tls_sink.port, security="tls", username=USER,
                    password=PASSWORD)
    assert "certificate" in error.message.lower()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_says_so():
    port = free_port()
    error = refused(host="127.0.0.1", port=port, security="starttls", username=USER,
                    password=PASSWORD)
    assert error.message == f"cannot connect to 127.0.0.1:{port}: connection refused"
    assert error.stage == "connect" and error.reply_code is None


def test_a_server_that_never_greets_times_out_clearly():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel accepts the connection; nobody ever answers
        port = silent.getsockname()[1]
        error = refused(host="127.0.0.1", port=port, security="none", username=USER,
                        password=PASSWORD, timeout=0.5)
    assert error.message == f"no answer from 127.0.0.1:{port} within 0.5 s"


def test_an_unknown_host_is_named():
    error = refused(host="no-such-host.invalid", port=25, security="none", username=None,
                    password=None, timeout=2)
    assert "no-such-host.invalid" in error.message


def test_an_unknown_security_is_a_programming_error():
    with pytest.raises(ValueError, match="starttls"):
        verify_smtp_account("127.0.0.1", 25, "ssl", USER, PASSWORD)  # type: ignore[arg-type]

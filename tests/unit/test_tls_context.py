"""One TLS client context per verify setting, shared by every connection of a process."""

from __future__ import annotations

import ssl

from emailsched.adapters.tls import client_context


def test_each_setting_is_built_once_and_reused():
    assert client_context(True) is client_context(True)
    assert client_context(False) is client_context(False)
    assert client_context(True) is not client_context(False)


def test_verified_checks_hostname_and_certificate_and_unverified_checks_neither():
    verified, unverified = client_context(True), client_context(False)
    assert verified.check_hostname and verified.verify_mode == ssl.CERT_REQUIRED
    assert not unverified.check_hostname and unverified.verify_mode == ssl.CERT_NONE

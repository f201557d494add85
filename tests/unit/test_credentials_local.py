"""Credentials at rest under a local key: AES-GCM tokens that only open for their own
key and context."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest

from emailsched.adapters.credentials import LocalCipher, generate_local_key, make_cipher
from emailsched.errors import ConfigurationError, CredentialsUnreadable
from emailsched.ports import credential_context

pytestmark = pytest.mark.unit
CONTEXT = credential_context("0b8f6e1c-1111-2222-3333-444455556666", "smtp_password")


@pytest.fixture
def cipher() -> LocalCipher:
    return LocalCipher(generate_local_key())


def test_a_secret_round_trips_in_a_versioned_token_without_its_plaintext(cipher):
    token = cipher.encrypt("correct horse battery", CONTEXT)
    assert token.startswith("v1.local.") and len(token.split(".")) == 4
    assert "correct horse" not in token
    assert cipher.decrypt(token, CONTEXT) == "correct horse battery"


def test_each_secret_gets_its_own_nonce(cipher):
    assert cipher.encrypt("same", CONTEXT) != cipher.encrypt("same", CONTEXT)


def test_unicode_and_empty_secrets_round_trip(cipher):
    for secret in ("", "pässwörd ✓", "x" * 1000):
        assert cipher.decrypt(cipher.encrypt(secret, CONTEXT), CONTEXT) == secret


@pytest.mark.parametrize("position", [2, 3])
def test_a_tampered_token_does_not_decrypt(cipher, position):
    parts = cipher.encrypt("secret", CONTEXT).split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[position] + "=="))
    raw[0] ^= 1
    parts[position] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(CredentialsUnreadable):
        cipher.decrypt(".".join(parts), CONTEXT)


def test_a_token_moved_to_another_sender_or_field_does_not_decrypt(cipher):
    token = cipher.encrypt("secret", CONTEXT)
    for other in (credential_context("another-sender", "smtp_password"),
                  credential_context("0b8f6e1c-1111-2222-3333-444455556666", "imap_password")):
        with pytest.raises(CredentialsUnreadable):
            cipher.decrypt(token, other)


def test_another_key_cannot_decrypt(cipher):
    token = cipher.encrypt("secret", CONTEXT)
    with pytest.raises(CredentialsUnreadable):
        LocalCipher(generate_local_key()).decrypt(token, CONTEXT)


@pytest.mark.parametrize("token, says", [
    ("plaintext-password", "version"),
    ("v1.kms.a.b.c", "'kms'"),
    ("v1.local.only-one", "malformed"),
    ("v1.local.%%%.***", "base64"),
])
def test_what_is_not_a_local_token_is_refused_clearly(cipher, token, says):
    with pytest.raises(CredentialsUnreadable, match=says):
        cipher.decrypt(token, CONTEXT)


@pytest.mark.parametrize("key, says", [
    ("not base64 at all!", "not base64"),
    (base64.b64encode(b"short").decode(), "5 bytes"),
    (base64.b64encode(bytes(33)).decode(), "33 bytes"),
])
def test_a_malformed_key_is_a_configuration_error_naming_the_variable(key, says):
    with pytest.raises(ConfigurationError, match=says) as caught:
        LocalCipher(key)
    assert "CREDENTIALS_KEY" in caught.value.message
    assert key not in caught.value.message


def test_a_url_safe_key_is_accepted():
    key = base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode()
    LocalCipher(key).check()


def settings(key: str | None = None, kms: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(CREDENTIALS_KEY=key, CREDENTIALS_KMS_KEY_ID=kms,
                           AWS_REGION="us-east-1", AWS_ENDPOINT_URL=None)


def test_the_factory_uses_the_local_key_without_a_kms_key():
    cipher = make_cipher(settings(key=generate_local_key()))
    assert isinstance(cipher, LocalCipher)
    cipher.check()


def test_the_factory_without_any_key_names_both_variables():
    with pytest.raises(ConfigurationError, match=r"CREDENTIALS_KMS_KEY_ID.*CREDENTIALS_KEY"):
        make_cipher(settings())

"""Envelope encryption under a KMS key, against moto's KMS and LocalStack's (the
`aws_services` fixture): the stored token opens only through KMS, and a missing or unusable
key is a clear start-up error."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config

from emailsched.adapters.credentials import (
    KmsCipher,
    LocalCipher,
    generate_local_key,
    make_cipher,
    make_kms_client,
)
from emailsched.errors import ConfigurationError, CredentialsUnreadable, ServiceUnavailable
from emailsched.ports import credential_context
from tests.support.stack import Services

pytestmark = pytest.mark.integration
CONTEXT = credential_context("5d0c9a8e-0000-4000-8000-000000000001", "smtp_password")
SECRET = "mailbox password 123"


class RecordingKms:
    """The real client, keeping what GenerateDataKey answered so the test can look for the
    plaintext data key in the token."""

    def __init__(self, client: Any):
        self._client = client
        self.data_keys: list[bytes] = []

    def generate_data_key(self, **kwargs: Any) -> Any:
        answer = self._client.generate_data_key(**kwargs)
        self.data_keys.append(answer["Plaintext"])
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def emulator(request: pytest.FixtureRequest, aws_services: Services) -> str:
    """The emulator `aws_services` is on for this test: moto or localstack."""
    return str(request.node.callspec.params["aws_services"])


@pytest.fixture
def kms(aws_services: Services) -> Any:
    return make_kms_client("us-east-1", aws_services.aws_endpoint_url)


def new_key(kms: Any) -> str:
    return kms.create_key(Description="emailsched credentials test")["KeyMetadata"]["KeyId"]


def settings(services: Services, key_id: str | None, local: str | None = None) -> Any:
    return SimpleNamespace(CREDENTIALS_KEY=local, CREDENTIALS_KMS_KEY_ID=key_id,
                           AWS_REGION="us-east-1", AWS_ENDPOINT_URL=services.aws_endpoint_url)


def test_a_secret_round_trips_with_a_data_key_of_its_own(kms):
    recording = RecordingKms(kms)
    cipher = KmsCipher(recording, new_key(kms))
    first, second = cipher.encrypt(SECRET, CONTEXT), cipher.encrypt(SECRET, CONTEXT)
    assert first.startswith("v1.kms.") and len(first.split(".")) == 5
    assert cipher.decrypt(first, CONTEXT) == cipher.decrypt(second, CONTEXT) == SECRET
    assert len(set(recording.data_keys)) == 2
    assert first.split(".")[2] != second.split(".")[2]


def test_the_token_holds_neither_the_secret_nor_the_plaintext_data_key(kms):
    recording = RecordingKms(kms)
    token = KmsCipher(recording, new_key(kms)).encrypt(SECRET, CONTEXT)
    (data_key,) = recording.data_keys
    decoded = b"".join(base64.urlsafe_b64decode(part + "==") for part in token.split(".")[2:])
    assert SECRET not in token and SECRET.encode() not in decoded
    assert data_key not in decoded
    assert base64.urlsafe_b64encode(data_key).rstrip(b"=").decode() not in token


def test_the_token_opens_only_through_kms_with_its_key_and_context(kms, emulator):
    key_id = new_key(kms)
    token = KmsCipher(kms, key_id).encrypt(SECRET, CONTEXT)
    with pytest.raises(CredentialsUnreadable):
        LocalCipher(generate_local_key()).decrypt(token, CONTEXT)
    with pytest.raises(CredentialsUnreadable):
        KmsCipher(kms, key_id).decrypt(token, credential_context("other", "smtp_password"))
    # Under another key: AWS and LocalStack answer IncorrectKeyException (the token is
    # unreadable with this key), moto AccessDeniedException (a key error).
    other_key = (CredentialsUnreadable if emulator == "localstack" else ConfigurationError)
    with pytest.raises(other_key):
        KmsCipher(kms, new_key(kms)).decrypt(token, CONTEXT)


def test_the_encrypted_data_key_is_bound_to_the_context_in_kms_too(kms):
    key_id = new_key(kms)
    token = KmsCipher(kms, key_id).encrypt(SECRET, CONTEXT)
    encrypted_key = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(KeyId=key_id, CiphertextBlob=encrypted_key)


def test_a_tampered_token_does_not_decrypt(kms):
    cipher = KmsCipher(kms, new_key(kms))
    parts = cipher.encrypt(SECRET, CONTEXT).split(".")
    parts[4] = ("B" if parts[4][0] == "A" else "A") + parts[4][1:]
    with pytest.raises(CredentialsUnreadable):
        cipher.decrypt(".".join(parts), CONTEXT)


def test_the_factory_prefers_kms_and_checks_the_key(aws_services, kms):
    cipher = make_cipher(settings(aws_services, new_key(kms), local=generate_local_key()))
    assert isinstance(cipher, KmsCipher)
    cipher.check()
    assert cipher.decrypt(cipher.encrypt(SECRET, CONTEXT), CONTEXT) == SECRET


def test_a_missing_key_is_a_clear_start_up_error(aws_services):
    cipher = make_cipher(settings(aws_services, "11111111-2222-3333-4444-555555555555"))
    with pytest.raises(ConfigurationError, match=r"CREDENTIALS_KMS_KEY_ID.*NotFoundException"):
        cipher.check()
    with pytest.raises(ConfigurationError, match="CREDENTIALS_KMS_KEY_ID"):
        cipher.encrypt(SECRET, CONTEXT)


def test_a_disabled_key_fails_the_start_up_check(kms, emulator):
    """What the code guarantees on every KMS: check() refuses a disabled key, so a worker or
    API started with one stops at start-up. AWS (and LocalStack) also refuse GenerateDataKey
    and Decrypt under it with DisabledException, which the cipher turns into a
    ConfigurationError; moto 5 ignores the key state there, so on moto only check() can
    catch it."""
    key_id = new_key(kms)
    cipher = KmsCipher(kms, key_id)
    token = cipher.encrypt(SECRET, CONTEXT)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ConfigurationError, match="Disabled"):
        cipher.check()
    if emulator == "localstack":
        with pytest.raises(ConfigurationError, match=r"GenerateDataKey refused.*Disabled"):
            cipher.encrypt(SECRET, CONTEXT)
        with pytest.raises(ConfigurationError, match=r"Decrypt refused.*Disabled"):
            cipher.decrypt(token, CONTEXT)
    kms.enable_key(KeyId=key_id)
    cipher.check()
    assert cipher.decrypt(token, CONTEXT) == SECRET


def test_an_unreachable_kms_is_a_service_outage():
    client = boto3.client("kms", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    with pytest.raises(ServiceUnavailable, match="KMS GenerateDataKey"):
        KmsCipher(client, "any").encrypt(SECRET, CONTEXT)

"""Sender credentials encrypted at rest with AES-GCM (`cryptography`), under a local key or
by envelope encryption under a KMS key. Both implement ports_credentials.CredentialCipher.

Tokens are versioned and self-describing (URL-safe base64 without padding, `.`-separated):

    v1.local.<nonce>.<ciphertext+tag>           AES-256-GCM under CREDENTIALS_KEY
    v1.kms.<encrypted data key>.<nonce>.<ciphertext+tag>

Every secret gets a fresh 96-bit random nonce; the KMS scheme also gets a fresh data key
from GenerateDataKey (AES_256), used once and dropped, only its encrypted form kept. The
associated data is the token's header plus the caller's context (sender id and field), and
the context is also the KMS EncryptionContext, so a token moved to another row, field or
scheme does not decrypt.

Roles on AWS: the API function only encrypts (kms:GenerateDataKey), the sender function
only decrypts (kms:Decrypt); both may call kms:DescribeKey for `check()` at start-up.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Iterator
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emailsched.errors import ConfigurationError, CredentialsUnreadable, ServiceUnavailable
from emailsched.ports import CredentialCipher

VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_HINT = ("the base64 of 32 random bytes, e.g. from "
            "python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'")
# Errors that mean the key itself is unusable, not that KMS is briefly unreachable.
KMS_KEY_ERRORS = {"NotFoundException", "DisabledException", "KMSInvalidStateException",
                  "InvalidKeyUsageException", "AccessDeniedException", "KeyUnavailableException"}
KMS_TOKEN_ERRORS = {"InvalidCiphertextException", "IncorrectKeyException"}


class CipherSettings(Protocol):
    """The settings make_cipher reads (emailsched.settings.Settings has them)."""

    CREDENTIALS_KEY: str | None
    CREDENTIALS_KMS_KEY_ID: str | None
    AWS_REGION: str
    AWS_ENDPOINT_URL: str | None


def generate_local_key() -> str:
    """A fresh CREDENTIALS_KEY (what `emailsched dev` keeps in its data folder)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def make_cipher(settings: CipherSettings, kms_client: Any = None) -> CredentialCipher:
    """KMS when CREDENTIALS_KMS_KEY_ID is set, else the local CREDENTIALS_KEY."""
    if settings.CREDENTIALS_KMS_KEY_ID:
        client = kms_client or make_kms_client(settings.AWS_REGION, settings.AWS_ENDPOINT_URL)
        return KmsCipher(client, settings.CREDENTIALS_KMS_KEY_ID)
    if settings.CREDENTIALS_KEY:
        return LocalCipher(settings.CREDENTIALS_KEY)
    raise ConfigurationError("sender credentials need a key: set CREDENTIALS_KMS_KEY_ID (a KMS "
                             f"key, on AWS) or CREDENTIALS_KEY ({KEY_HINT})")


def make_kms_client(region: str, endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5,
                    read_timeout=10)
    return boto3.client("kms", region_name=region, endpoint_url=endpoint_url, config=config)


class LocalCipher:
    """AES-256-GCM under one key from the environment (CREDENTIALS_KEY)."""

    scheme = "local"

    def __init__(self, key_b64: str):
        self._aead = AESGCM(_parse_local_key(key_b64))

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _aad(self.scheme, context))
        return _join(self.scheme, nonce, sealed)

    def decrypt(self, token: str, context: str) -> str:
        nonce, sealed = _split(token, self.scheme, parts=2)
        return _open(self._aead, nonce, sealed, _aad(self.scheme, context))

    def check(self) -> None:
        if self.decrypt(self.encrypt("check", "check"), "check") != "check":
            raise ConfigurationError("CREDENTIALS_KEY does not round-trip")


class KmsCipher:
    """Envelope encryption: a KMS data key per secret, AES-256-GCM with it locally."""

    scheme = "kms"

    def __init__(self, client: Any, key_id: str):
        self._client = client
        self._key_id = key_id

    def encrypt(self, plaintext: str, context: str) -> str:
        with self._kms("GenerateDataKey"):
            answer = self._client.generate_data_key(
                KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=_kms_context(context))
        data_key, encrypted_key = answer["Plaintext"], answer["CiphertextBlob"]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(data_key).encrypt(nonce, plaintext.encode(), _aad(self.scheme, context))
        # The plaintext data key served this one secret; only its encrypted form is kept.
        del data_key, answer
        return _join(self.scheme, encrypted_key, nonce, sealed)

    def decrypt(self, token: str, context: str) -> str:
        encrypted_key, nonce, sealed = _split(token, self.scheme, parts=3)
        with self._kms("Decrypt"):
            answer = self._client.decrypt(KeyId=self._key_id, CiphertextBlob=encrypted_key,
                                          EncryptionContext=_kms_context(context))
        return _open(AESGCM(answer["Plaintext"]), nonce, sealed, _aad(self.scheme, context))

    def check(self) -> None:
        with self._kms("DescribeKey"):
            metadata = self._client.describe_key(KeyId=self._key_id)["KeyMetadata"]
        if metadata.get("KeyState") != "Enabled" or not metadata.get("Enabled", True):
            raise ConfigurationError(f"CREDENTIALS_KMS_KEY_ID {self._key_id} is "
                                     f"{metadata.get('KeyState', 'not enabled')}")
        if metadata.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
            raise ConfigurationError(f"CREDENTIALS_KMS_KEY_ID {self._key_id} is not a "
                                     "symmetric encryption key")

    @contextlib.contextmanager
    def _kms(self, operation: str) -> Iterator[None]:
        """botocore errors as ours: a bad key is a configuration error, an altered token is
        unreadable, anything else (throttling, network) is a brief outage."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            text = error.response.get("Error", {}).get("Message", "") or code
            if code in KMS_KEY_ERRORS:
                raise ConfigurationError(f"CREDENTIALS_KMS_KEY_ID {self._key_id}: KMS "
                                         f"{operation} refused ({code}: {text})") from None
            if code in KMS_TOKEN_ERRORS:
                raise CredentialsUnreadable(f"KMS could not decrypt the credential ({code})"
                                            ) from None
            raise ServiceUnavailable(f"KMS {operation}: {code}: {text}") from error
        except BotoCoreError as error:
            raise ServiceUnavailable(f"KMS {operation}: {error}") from error


def _parse_local_key(key_b64: str) -> bytes:
    try:
        # Standard or URL-safe alphabet, both are common ways to print 32 bytes.
        text = key_b64.strip().replace("-", "+").replace("_", "/")
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"CREDENTIALS_KEY is not base64: it must be {KEY_HINT}"
                                 ) from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"CREDENTIALS_KEY decodes to {len(key)} bytes, not "
                                 f"{KEY_BYTES}: it must be {KEY_HINT}")
    return key


def _aad(scheme: str, context: str) -> bytes:
    return f"emailsched-credential:{VERSION}.{scheme}:{context}".encode()


def _kms_context(context: str) -> dict[str, str]:
    return {"emailsched": "credential", "context": context}


def _join(scheme: str, *parts: bytes) -> str:
    return ".".join([VERSION, scheme, *(_b64(part) for part in parts)])


def _split(token: str, scheme: str, parts: int) -> list[bytes]:
    fields = token.split(".")
    if fields[:1] != [VERSION] or len(fields) < 2:
        raise CredentialsUnreadable("not a credential token of this version")
    if fields[1] != scheme:
        raise CredentialsUnreadable(f"the credential was encrypted with '{fields[1]}', this "
                                    f"deployment decrypts '{scheme}'")
    if len(fields) != 2 + parts:
        raise CredentialsUnreadable("the credential token is truncated or malformed")
    try:
        return [_unb64(field) for field in fields[2:]]
    except (binascii.Error, ValueError):
        raise CredentialsUnreadable("the credential token is not valid base64") from None


def _open(aead: AESGCM, nonce: bytes, sealed: bytes, aad: bytes) -> str:
    try:
        return aead.decrypt(nonce, sealed, aad).decode()
    except (InvalidTag, ValueError):
        raise CredentialsUnreadable() from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)

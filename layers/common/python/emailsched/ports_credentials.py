"""The port for secrets at rest (sender passwords). The integrator moves it into ports.py.

`context` names what the secret belongs to (see `credential_context`); it is bound to the
ciphertext as associated data, so a token copied to another row or field does not decrypt.
"""

from __future__ import annotations

from typing import Protocol


class CredentialCipher(Protocol):
    def encrypt(self, plaintext: str, context: str) -> str:
        """A self-describing token (`v1.<scheme>....`) that holds no plaintext."""
        ...

    def decrypt(self, token: str, context: str) -> str:
        """The plaintext, or CredentialsUnreadable when the token or context do not match."""
        ...

    def check(self) -> None:
        """Prove at start-up that the key is usable, or raise ConfigurationError."""
        ...


def credential_context(sender_id: str, field: str) -> str:
    """The associated data for one secret: `sender:<id>:<field>`, e.g. smtp_password."""
    return f"sender:{sender_id}:{field}"

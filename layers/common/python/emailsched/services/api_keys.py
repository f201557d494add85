"""Managing API keys (SPEC.md, "API keys"): a key is made here, shown once, and from then
on only its hash exists."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Protocol

from emailsched.domain.api_keys import KEY_CHARS, PREFIX, SCOPES, ApiKey, key_hash
from emailsched.domain.records import User
from emailsched.errors import InvalidRequest, NotFound

MAX_NAME = 200


class ApiKeyStore(Protocol):
    def create(self, user_id: uuid.UUID, name: str, scopes: list[str],
               hashed: bytes) -> ApiKey: ...

    def all(self, user_id: uuid.UUID) -> list[ApiKey]: ...

    def delete(self, user_id: uuid.UUID, key_id: uuid.UUID) -> bool: ...

    def lookup(self, hashed: bytes) -> tuple[User, frozenset[str]] | None: ...


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the `es_...` key itself, returned once


def new_key() -> str:
    # token_urlsafe(30) is exactly 40 characters of URL-safe base64.
    key = PREFIX + secrets.token_urlsafe(30)
    assert len(key) == len(PREFIX) + KEY_CHARS
    return key


def _check(name: str, scopes: list[str]) -> tuple[str, list[str]]:
    details = []
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        details.append({"field": "name", "message": f"1 to {MAX_NAME} characters"})
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        details.append({"field": "scopes", "message":
                        f"one or more of {', '.join(SCOPES)}"
                        + (f"; unknown: {', '.join(unknown)}" if unknown else "")})
    if details:
        raise InvalidRequest("invalid API key", details=details)
    return name, sorted(set(scopes), key=SCOPES.index)


class ApiKeyService:
    def __init__(self, store: ApiKeyStore):
        self._store = store

    def create(self, user_id: uuid.UUID, name: str, scopes: list[str]) -> CreatedKey:
        name, scopes = _check(name, scopes)
        secret = new_key()
        return CreatedKey(self._store.create(user_id, name, scopes, key_hash(secret)), secret)

    def all(self, user_id: uuid.UUID) -> list[ApiKey]:
        return self._store.all(user_id)

    def delete(self, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
        if not self._store.delete(user_id, key_id):
            raise NotFound("no such API key")

"""API keys in Postgres (migration 0017): created, listed, deleted, and looked up by hash
on every request that carries one."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, text

from emailsched.adapters.db.errors import transaction, wrap_db_errors
from emailsched.domain.api_keys import ApiKey
from emailsched.domain.records import User

INSERT = text("""
    INSERT INTO api_keys (user_id, name, scopes, key_hash) VALUES (:user_id, :name, :scopes, :hash)
    RETURNING id, name, scopes, created_at, last_used_at
""")
LIST = text("""
    SELECT id, name, scopes, created_at, last_used_at FROM api_keys
    WHERE user_id = :user_id ORDER BY created_at DESC, id
""")
DELETE = text("DELETE FROM api_keys WHERE id = :id AND user_id = :user_id")
# The key's user and scopes in one round trip; lastUsedAt is written at most once a minute
# per key, so a busy key costs no write per request.
LOOKUP = text("""
    WITH k AS (SELECT id, user_id, scopes, last_used_at FROM api_keys WHERE key_hash = :hash),
    touched AS (
        UPDATE api_keys a SET last_used_at = now() FROM k
        WHERE a.id = k.id AND (k.last_used_at IS NULL
                               OR k.last_used_at < now() - interval '60 seconds'))
    SELECT k.scopes, u.id, u.email, u.name, u.avatar, u.postal_address
    FROM k JOIN users u ON u.id = k.user_id
""")


def _key(row: Any) -> ApiKey:
    return ApiKey(row.id, row.name, tuple(row.scopes), row.created_at, row.last_used_at)


class PgApiKeyStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def create(self, user_id: uuid.UUID, name: str, scopes: list[str], hashed: bytes) -> ApiKey:
        with transaction(self._engine) as connection:
            row = connection.execute(INSERT, {"user_id": user_id, "name": name,
                                              "scopes": scopes, "hash": hashed}).one()
        return _key(row)

    def all(self, user_id: uuid.UUID) -> list[ApiKey]:
        with wrap_db_errors(), self._engine.connect() as connection:
            return [_key(row) for row in connection.execute(LIST, {"user_id": user_id})]

    def delete(self, user_id: uuid.UUID, key_id: uuid.UUID) -> bool:
        with transaction(self._engine) as connection:
            return connection.execute(DELETE, {"id": key_id, "user_id": user_id}).rowcount > 0

    def lookup(self, hashed: bytes) -> tuple[User, frozenset[str]] | None:
        with transaction(self._engine) as connection:
            row = connection.execute(LOOKUP, {"hash": hashed}).first()
        if row is None:
            return None
        user = User(row.id, row.email, row.name, row.avatar, row.postal_address)
        return user, frozenset(row.scopes)

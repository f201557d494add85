"""What OAuth needs of Postgres (issue 25): the states of consents under way, and what the
workers read and write of a connected sender's grant (its encrypted refresh token, its
rotation, its revocation).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from emailsched.adapters.db.errors import transaction
from emailsched.domain.oauth import TakenState

SAVE_STATE = text("""
    INSERT INTO oauth_states (state_hash, user_id, provider, options, expires_at)
    VALUES (:hash, :user_id, :provider, CAST(:options AS jsonb), :expires_at)
""")
# take_state: a state works once. The row goes whatever its age, so an expired one cannot be
# tried again either; the caller compares expires_at. Served by the primary key.
TAKE_STATE = text("""
    DELETE FROM oauth_states WHERE state_hash = :hash
    RETURNING user_id, provider, options, expires_at
""")
# Consents never finished: swept as new ones start (few rows, ix on nothing needed).
SWEEP_STATES = text("DELETE FROM oauth_states WHERE expires_at < :before")
GRANT = text("""
    SELECT kind, email, oauth_refresh_token_enc FROM senders
    WHERE id = :id AND kind IN ('google', 'microsoft') AND deleted_at IS NULL
""")
# rotate: a rotated refresh token replaces the one it came from, and only that one: a
# reconnect that landed meanwhile keeps its own. updated_at stays (the pool keeps its mailers).
ROTATE = text("""
    UPDATE senders SET oauth_refresh_token_enc = :new
    WHERE id = :id AND oauth_refresh_token_enc = :old
""")
# revoked: the grant is gone (invalid_grant); failing at once, its unsent emails not in a
# worker's hands held (those in one are held by that worker's account_failed), and only
# while the token that failed is still the stored one (a reconnect may have replaced it).
REVOKED = text("""
    WITH failed AS (
        UPDATE senders SET status = 'failing', last_error = :error, updated_at = now()
        WHERE id = :id AND oauth_refresh_token_enc = :token
        RETURNING id
    )
    UPDATE emails SET status = 'held', claim_token = NULL, updated_at = now()
    WHERE sender_id IN (SELECT id FROM failed) AND status IN ('scheduled', 'queued')
""")


@dataclass(frozen=True)
class Grant:
    provider: str
    email: str
    refresh_token_enc: str | None


class PgOAuthStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def save_state(self, hash_: str, user_id: uuid.UUID, provider: str,
                   options: dict[str, Any], expires_at: datetime, now: datetime) -> None:
        with transaction(self._engine) as c:
            c.execute(SWEEP_STATES, {"before": now})
            c.execute(SAVE_STATE, {"hash": hash_, "user_id": user_id, "provider": provider,
                                   "options": json.dumps(options), "expires_at": expires_at})

    def take_state(self, hash_: str) -> TakenState | None:
        with transaction(self._engine) as c:
            row = c.execute(TAKE_STATE, {"hash": hash_}).one_or_none()
        return None if row is None else TakenState(row[0], row[1], dict(row[2]), row[3])

    def grant(self, sender_id: uuid.UUID) -> Grant | None:
        with transaction(self._engine) as c:
            row = c.execute(GRANT, {"id": sender_id}).one_or_none()
        return None if row is None else Grant(row[0], row[1], row[2])

    def rotate(self, sender_id: uuid.UUID, old: str, new: str) -> None:
        with transaction(self._engine) as c:
            c.execute(ROTATE, {"id": sender_id, "old": old, "new": new})

    def revoked(self, sender_id: uuid.UUID, token: str, error: str) -> None:
        with transaction(self._engine) as c:
            c.execute(REVOKED, {"id": sender_id, "token": token, "error": error[:1000]})

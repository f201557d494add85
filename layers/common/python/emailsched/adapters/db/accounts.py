"""Users and senders."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from emailsched.adapters.db.rows import build
from emailsched.domain.records import User

__all__ = ["User"]

# Dev login finds the user by email; Google login by Google's stable `sub` (an address can
# change owner), adopting a dev user with the same email the first time.
UPSERT_USER_BY_EMAIL = text("""
    INSERT INTO users (email, name, avatar) VALUES (:email, :name, :avatar)
    ON CONFLICT (email) DO UPDATE
        SET name = COALESCE(NULLIF(EXCLUDED.name, ''), users.name),
            avatar = COALESCE(EXCLUDED.avatar, users.avatar), updated_at = now()
    RETURNING id, email, name, avatar
""")
UPSERT_USER_BY_SUB = text("""
    INSERT INTO users (email, name, avatar, google_sub)
    VALUES (:email, :name, :avatar, :sub)
    ON CONFLICT (email) DO UPDATE
        SET name = EXCLUDED.name, avatar = EXCLUDED.avatar, google_sub = EXCLUDED.google_sub,
            updated_at = now()
        WHERE users.google_sub IS NULL OR users.google_sub = EXCLUDED.google_sub
    RETURNING id, email, name, avatar
""")
UPDATE_USER_BY_SUB = text("""
    UPDATE users SET email = :email, name = :name, avatar = :avatar, updated_at = now()
    WHERE google_sub = :sub
    RETURNING id, email, name, avatar
""")
GET_USER = text("SELECT id, email, name, avatar, postal_address FROM users WHERE id = :id")

# Upserting the sender row also locks it until the transaction ends, so two batches of one
# sender are planned one after the other and see each other's windows.
UPSERT_SENDER = text("""
    INSERT INTO senders (user_id, email, name) VALUES (:user_id, :email, :name)
    ON CONFLICT (user_id, email) WHERE deleted_at IS NULL
        DO UPDATE SET name = EXCLUDED.name, updated_at = now()
    RETURNING id
""")


def upsert_user_by_email(connection: Connection, email: str, name: str,
                         avatar: str | None = None) -> User:
    row = connection.execute(UPSERT_USER_BY_EMAIL,
                             {"email": email, "name": name, "avatar": avatar}).one()
    return build(User, row)


def upsert_user_by_google_sub(connection: Connection, sub: str, email: str, name: str,
                              avatar: str | None) -> User | None:
    """None when the email belongs to a different Google account."""
    params = {"sub": sub, "email": email, "name": name, "avatar": avatar}
    row = connection.execute(UPDATE_USER_BY_SUB, params).one_or_none()
    if row is None:
        row = connection.execute(UPSERT_USER_BY_SUB, params).one_or_none()
    return None if row is None else build(User, row)


def get_user(connection: Connection, user_id: uuid.UUID) -> User | None:
    row = connection.execute(GET_USER, {"id": user_id}).one_or_none()
    return None if row is None else build(User, row)


def upsert_sender(connection: Connection, user_id: uuid.UUID, email: str, name: str) -> uuid.UUID:
    return uuid.UUID(str(connection.execute(
        UPSERT_SENDER, {"user_id": user_id, "email": email, "name": name}).scalar_one()))

"""The Postgres stores behind scheduling, batch control, the read side and auth.

Each owns its connections and transactions: a service asks for a transaction (or a
reading session) and calls named statements on what it is given; driver errors become
ServiceUnavailable in wrap_db_errors, here and nowhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine

from emailsched.adapters.db import accounts, batches, control, reads, senders, sequences
from emailsched.adapters.db.errors import transaction, wrap_db_errors
from emailsched.domain.records import BatchRow, EmailRow, User
from emailsched.domain.senders import SenderLimits
from emailsched.errors import NotFound
from emailsched.ports import HeldEmail, LockedBatch, SenderAccount


class PgBatchSession:
    """Scheduling's and batch control's statements, on one transaction's connection."""

    def __init__(self, connection: Connection):
        self._c = connection

    def lock_senders(self, user_id: uuid.UUID,
                     sender_ids: list[uuid.UUID]) -> list[SenderAccount]:
        found = {}
        for sender_id in sorted(set(sender_ids)):  # one lock order: no deadlocks
            account = senders.get_sender(self._c, user_id, sender_id, lock=True)
            if account is None:
                raise NotFound("no such sender", details=[
                    {"field": "senderIds", "message": f"{sender_id} is not one of yours"}])
            found[sender_id] = account
        return [found[sender_id] for sender_id in sender_ids]

    def sender_by_email(self, user_id: uuid.UUID, email: str) -> SenderAccount | None:
        return senders.sender_by_email(self._c, user_id, email)

    def create_relay_sender(self, user_id: uuid.UUID, email: str,
                            name: str) -> SenderAccount:
        sender_id = accounts.upsert_sender(self._c, user_id, email, name)
        account = senders.get_sender(self._c, user_id, sender_id, lock=True)
        assert account is not None
        return account

    def sender_usage(self, sender_id: uuid.UUID, since: datetime,
                     window_ms: int) -> dict[int, int]:
        return batches.sender_usage(self._c, sender_id, since, window_ms)

    def sender_day_usage(self, sender_id: uuid.UUID, since: datetime,
                         timezone: str) -> dict[int, int]:
        return senders.sender_day_usage(self._c, sender_id, since, timezone)

    def insert_batch_senders(self, batch_id: uuid.UUID,
                             shares: list[tuple[uuid.UUID, int, int]]) -> None:
        batches.insert_batch_senders(self._c, batch_id, shares)

    def hold_new_emails(self, batch_id: uuid.UUID, sender_id: uuid.UUID) -> None:
        batches.hold_new_emails(self._c, batch_id, sender_id)

    def store_steps(self, batch_id: uuid.UUID, steps: Sequence[dict[str, object]]) -> None:
        sequences.store_steps(self._c, batch_id, steps)

    def sender_limits(self, sender_id: uuid.UUID) -> SenderLimits:
        return senders.sender_limits(self._c, sender_id)

    def insert_batch(self, **values: object) -> uuid.UUID:
        return batches.insert_batch(self._c, **values)[0]

    def insert_emails(self, *, batch_id: uuid.UUID, user_id: uuid.UUID, sender_id: uuid.UUID,
                      recipients: list[str], due_ms: list[int], first_seq: int = 0,
                      seq_step: int = 1, fields: list[dict[str, str]] | None = None) -> None:
        batches.insert_emails(self._c, batch_id=batch_id, user_id=user_id,
                              sender_id=sender_id, recipients=recipients, due_ms=due_ms,
                              first_seq=first_seq, seq_step=seq_step, fields=fields)

    def lock_batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> LockedBatch | None:
        return control.lock_batch(self._c, user_id, batch_id)

    def lock_sender(self, sender_id: uuid.UUID) -> None:
        control.lock_sender(self._c, sender_id)

    def pending_count(self, batch_id: uuid.UUID) -> int:
        return control.pending_count(self._c, batch_id)

    def set_status(self, batch_id: uuid.UUID, status: str) -> None:
        control.set_status(self._c, batch_id, status)

    def hold_emails(self, batch_id: uuid.UUID, from_statuses: list[str], status: str) -> int:
        return control.hold_emails(self._c, batch_id, from_statuses, status)

    def paused_emails(self, batch_id: uuid.UUID
                      ) -> list[tuple[uuid.UUID, datetime, uuid.UUID, str | None]]:
        return control.paused_emails(self._c, batch_id)

    def resume_emails(self, ids: list[uuid.UUID], due_ms: list[int]) -> None:
        control.resume_emails(self._c, ids, due_ms)

    def set_end(self, batch_id: uuid.UUID, end: datetime) -> None:
        control.set_end(self._c, batch_id, end)


class PgBatchStore:
    """SchedulingStore and BatchControlStore: a transaction per unit of work."""

    def __init__(self, engine: Engine):
        self._engine = engine

    @contextmanager
    def transaction(self) -> Iterator[PgBatchSession]:
        with transaction(self._engine) as connection:
            yield PgBatchSession(connection)


class PgReadSession:
    def __init__(self, connection: Connection):
        self._c = connection

    def list_emails(self, user_id: uuid.UUID, *, finished: bool, batch_id: uuid.UUID | None,
                    limit: int, offset: int) -> tuple[list[EmailRow], int]:
        return reads.list_emails(self._c, user_id, finished=finished, batch_id=batch_id,
                                 limit=limit, offset=offset)

    def email_rows(self, user_id: uuid.UUID, *, finished: bool, batch_id: uuid.UUID | None,
                   limit: int, offset: int) -> list[EmailRow]:
        return reads.email_rows(self._c, user_id, finished=finished, batch_id=batch_id,
                                limit=limit, offset=offset)

    def count_emails(self, user_id: uuid.UUID, *, finished: bool,
                     batch_id: uuid.UUID | None) -> int:
        return reads.count_emails(self._c, user_id, finished=finished, batch_id=batch_id)

    def list_batches(self, user_id: uuid.UUID, limit: int,
                     offset: int) -> tuple[list[BatchRow], int]:
        return reads.list_batches(self._c, user_id, limit, offset)

    def get_batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> BatchRow | None:
        return reads.get_batch(self._c, user_id, batch_id)

    def batch_counts(self, batch_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
        return reads.batch_counts(self._c, batch_ids)

    def status_counts(self, user_id: uuid.UUID) -> dict[str, int]:
        return reads.status_counts(self._c, user_id)

    def per_hour(self, user_id: uuid.UUID,
                 since: datetime) -> dict[datetime, tuple[int, int]]:
        return reads.per_hour(self._c, user_id, since)

    def sent_since(self, user_id: uuid.UUID, since: datetime) -> int:
        return reads.sent_since(self._c, user_id, since)


class PgReadStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    @contextmanager
    def reading(self) -> Iterator[PgReadSession]:
        with wrap_db_errors(), self._engine.connect() as connection:
            yield PgReadSession(connection)


class PgAccountStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def upsert_user_by_email(self, email: str, name: str) -> User:
        with transaction(self._engine) as connection:
            return accounts.upsert_user_by_email(connection, email, name)

    def upsert_user_by_google_sub(self, sub: str, email: str, name: str,
                                  avatar: str | None) -> User | None:
        with transaction(self._engine) as connection:
            return accounts.upsert_user_by_google_sub(connection, sub, email, name, avatar)

    def get_user(self, user_id: uuid.UUID) -> User | None:
        with wrap_db_errors(), self._engine.connect() as connection:
            return accounts.get_user(connection, user_id)


class PgSenderSession:
    """The /senders service's statements, on one transaction's connection."""

    def __init__(self, connection: Connection):
        self._c = connection

    def list_senders(self, user_id: uuid.UUID) -> list[SenderAccount]:
        return senders.list_senders(self._c, user_id)

    def get_sender(self, user_id: uuid.UUID, sender_id: uuid.UUID,
                   lock: bool = False) -> SenderAccount | None:
        return senders.get_sender(self._c, user_id, sender_id, lock)

    def sender_by_email(self, user_id: uuid.UUID, email: str) -> SenderAccount | None:
        return senders.sender_by_email(self._c, user_id, email)

    def insert_sender(self, sender_id: uuid.UUID, user_id: uuid.UUID,
                      values: dict[str, object]) -> None:
        senders.insert_sender(self._c, sender_id, user_id, values)

    def update_sender(self, sender_id: uuid.UUID, values: dict[str, object]) -> None:
        senders.update_sender(self._c, sender_id, values)

    def delete_sender(self, sender_id: uuid.UUID) -> None:
        senders.delete_sender(self._c, sender_id)

    def unsent_count(self, sender_id: uuid.UUID) -> int:
        return senders.unsent_count(self._c, sender_id)

    def sent_since(self, sender_ids: Sequence[uuid.UUID],
                   since: dict[uuid.UUID, datetime]) -> dict[uuid.UUID, int]:
        return senders.sent_since(self._c, sender_ids, since)

    def held_emails(self, sender_id: uuid.UUID) -> list[HeldEmail]:
        return senders.held_emails(self._c, sender_id)

    def release_held(self, ids: list[uuid.UUID], due_ms: list[int], status: str) -> None:
        senders.release_held(self._c, ids, due_ms, status)

    def sender_usage(self, sender_id: uuid.UUID, since: datetime,
                     window_ms: int) -> dict[int, int]:
        return batches.sender_usage(self._c, sender_id, since, window_ms)

    def sender_day_usage(self, sender_id: uuid.UUID, since: datetime,
                         timezone: str) -> dict[int, int]:
        return senders.sender_day_usage(self._c, sender_id, since, timezone)


class PgSenderStore:
    """SenderStore: a transaction per change to a sender."""

    def __init__(self, engine: Engine):
        self._engine = engine

    @contextmanager
    def transaction(self) -> Iterator[PgSenderSession]:
        with transaction(self._engine) as connection:
            yield PgSenderSession(connection)

"""Pause, resume and cancel: the batch row and its unsent emails change together."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, text

from emailsched.adapters.db.events import recorded
from emailsched.adapters.db.rows import build
from emailsched.domain.events import Actor
from emailsched.domain.model import PENDING_EMAIL_STATUSES, sql_list
from emailsched.ports import LockedBatch

LOCK_BATCH = text("""
    SELECT status, sender_id, delay_ms, hourly_limit, sending_window, random_delay_ms,
           plan_seed
    FROM batches WHERE id = :batch_id AND user_id = :user_id FOR UPDATE
""")
LOCK_SENDER = text("SELECT id FROM senders WHERE id = :sender_id FOR UPDATE")
# A pause, resume or cancel by the user clears a reason the batch paused itself for.
SET_BATCH_STATUS = text("""
    UPDATE batches SET status = :status, paused_reason = NULL, updated_at = now()
    WHERE id = :batch_id
""")
SET_BATCH_END = text("""
    UPDATE batches SET estimated_end_time = :end, updated_at = now() WHERE id = :batch_id
""")
COUNT_PENDING = text(f"""
    SELECT count(*) FROM emails
    WHERE batch_id = :batch_id AND status IN ({sql_list(PENDING_EMAIL_STATUSES)})
""")
# hold_emails: pause and cancel reach only what no worker holds yet; an email in `sending`
# finishes. A message already on the queue for a paused email finds it not `queued` and
# is dropped; resume enqueues afresh.
HOLD_EMAILS = text(recorded("""
    UPDATE emails SET status = :status, claim_token = NULL, updated_at = now()
    WHERE batch_id = :batch_id AND status = ANY(CAST(:from_statuses AS text[]))
    RETURNING id, user_id, batch_id, status
""", "status", Actor.USER))
PAUSED_EMAILS = text("""
    SELECT id, due_at, sender_id, fields->>'timezone' AS timezone FROM emails
    WHERE batch_id = :batch_id AND status = 'paused' ORDER BY seq
""")
# resume_emails: release paused emails with their new due times, one statement.
RESUME_EMAILS = text(recorded("""
    UPDATE emails e SET status = 'scheduled', due_at = to_timestamp(r.due_ms / 1000.0),
                        wake_at = to_timestamp(r.due_ms / 1000.0), updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:due_ms AS bigint[])) AS r(id, due_ms)
    WHERE e.id = r.id AND e.status = 'paused'
    RETURNING e.id, e.user_id, e.batch_id
""", "'resumed'", Actor.USER))


def lock_batch(connection: Connection, user_id: uuid.UUID,
               batch_id: uuid.UUID) -> LockedBatch | None:
    row = connection.execute(LOCK_BATCH, {"batch_id": batch_id, "user_id": user_id})
    found = row.one_or_none()
    return None if found is None else build(LockedBatch, found)


def lock_sender(connection: Connection, sender_id: uuid.UUID) -> None:
    connection.execute(LOCK_SENDER, {"sender_id": sender_id})


def pending_count(connection: Connection, batch_id: uuid.UUID) -> int:
    return int(connection.execute(COUNT_PENDING, {"batch_id": batch_id}).scalar_one())


def set_status(connection: Connection, batch_id: uuid.UUID, status: str) -> None:
    connection.execute(SET_BATCH_STATUS, {"batch_id": batch_id, "status": status})


def hold_emails(connection: Connection, batch_id: uuid.UUID, from_statuses: list[str],
                status: str) -> int:
    return int(connection.execute(HOLD_EMAILS, {"batch_id": batch_id, "status": status,
                                                "from_statuses": from_statuses}).rowcount)


def paused_emails(connection: Connection, batch_id: uuid.UUID
                  ) -> list[tuple[uuid.UUID, datetime, uuid.UUID, str | None]]:
    return [(row.id, row.due_at, row.sender_id, row.timezone)
            for row in connection.execute(PAUSED_EMAILS, {"batch_id": batch_id})]


def resume_emails(connection: Connection, ids: list[uuid.UUID], due_ms: list[int]) -> None:
    connection.execute(RESUME_EMAILS, {"ids": ids, "due_ms": due_ms})


def set_end(connection: Connection, batch_id: uuid.UUID, end: datetime) -> None:
    connection.execute(SET_BATCH_END, {"batch_id": batch_id, "end": end})

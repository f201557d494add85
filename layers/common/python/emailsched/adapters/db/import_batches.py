"""What both ways of writing an import end with (issue 17): the batch row, and the
import `done` with everything a batch has besides its emails, in the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from emailsched.adapters.db.stores import PgBatchSession
from emailsched.ports import ImportCounts, ImportRecord

INSERT_BATCH_WITH_ID = text("""
    INSERT INTO batches (id, user_id, sender_id, sender_name, subject, body, start_time,
                         delay_ms, hourly_limit, email_count, duplicates_removed,
                         estimated_end_time, sending_window, random_delay_ms, plan_seed,
                         templated, suppressed_removed)
    VALUES (:id, :user_id, :sender_id, :sender_name, :subject, :body, :start_time, :delay_ms,
            :hourly_limit, :email_count, :duplicates_removed, :estimated_end_time,
            CAST(:sending_window AS jsonb), :random_delay_ms, :plan_seed, TRUE,
            :suppressed_removed)
""")
# END: a null :errors keeps the errors saved with the last chunk.
END = text("""
    UPDATE imports SET status = :status, rows = :rows, valid = :valid, invalid = :invalid,
                       duplicates = :duplicates, suppressed = :suppressed,
                       errors = COALESCE(CAST(:errors AS jsonb), errors), checkpoint = NULL,
                       batch_id = CASE WHEN :status = 'done' THEN batch_id END,
                       updated_at = now()
    WHERE id = :id AND status = 'importing'
""")


def insert_batch(c: Connection, record: ImportRecord, batch: dict[str, Any],
                 sender_ids: list[uuid.UUID]) -> None:
    """The import's batch row, its senders locked first (in the order every writer locks
    them)."""
    PgBatchSession(c).lock_senders(record.user_id, sender_ids)
    window = batch.get("sending_window")
    c.execute(INSERT_BATCH_WITH_ID, {
        **batch, "id": record.batch_id, "user_id": record.user_id,
        "sending_window": None if window is None else json.dumps(window)})


def complete(c: Connection, record: ImportRecord, shares: list[tuple[uuid.UUID, int, int]],
             hold: list[uuid.UUID], steps: list[dict[str, object]],
             counts: ImportCounts, errors: Sequence[dict[str, Any]] = ()) -> None:
    """Once the batch's emails are in: a failing sender's emails held, the follow-up
    steps, the senders' shares, and the import `done` (with the rows the recipient checks
    refused as its errors)."""
    assert record.batch_id is not None
    session = PgBatchSession(c)
    for sender_id in hold:
        session.hold_new_emails(record.batch_id, sender_id)
    if steps:
        session.store_steps(record.batch_id, steps)
    session.insert_batch_senders(record.batch_id, shares)
    # Errors given (rows the recipient checks refused): written; none: the errors stay as
    # the last save left them (rows skipInvalid left out, by line).
    c.execute(END, {"id": record.id, "status": "done", **count_params(counts),
                    "errors": json.dumps(list(errors)) if errors else None})


def count_params(counts: ImportCounts) -> dict[str, int]:
    return {"rows": counts.rows, "valid": counts.valid, "invalid": counts.invalid,
            "duplicates": counts.duplicates, "suppressed": counts.suppressed}

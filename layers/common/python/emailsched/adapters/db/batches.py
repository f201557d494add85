"""Storing a batch and its emails; the sender's planned use of each window."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, text

# sender_usage: how many sends the sender has planned or made in each window from `since`
# on, so a new batch plans around its other batches. Served by ix_emails_sender_due.
SENDER_USAGE = text("""
    SELECT (floor(extract(epoch FROM COALESCE(sent_at, due_at)) * 1000 / :window_ms)
            * :window_ms)::bigint AS window_start,
           count(*)
    FROM emails
    WHERE sender_id = :sender_id AND status NOT IN ('failed', 'cancelled', 'paused')
      AND (due_at >= :since OR sent_at >= :since)
    GROUP BY 1
""")

INSERT_BATCH = text("""
    INSERT INTO batches (user_id, sender_id, sender_name, subject, body, start_time, delay_ms,
                         hourly_limit, email_count, duplicates_removed, estimated_end_time)
    VALUES (:user_id, :sender_id, :sender_name, :subject, :body, :start_time, :delay_ms,
            :hourly_limit, :email_count, :duplicates_removed, :estimated_end_time)
    RETURNING id, created_at
""")

# insert_emails: one statement per chunk instead of one INSERT per row. Recipients and due
# times (epoch milliseconds) travel as two strings split by the server, and positions come
# from WITH ORDINALITY: pg8000 encodes a list parameter element by element in Python, which
# was most of a big request's time (BENCHMARKS.md); joining strings is one C call.
# A validated address holds no line break, so it can separate them.
INSERT_EMAILS = text("""
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at)
    SELECT :batch_id, :user_id, :sender_id, :first_seq + r.n - 1, r.recipient,
           to_timestamp(r.due_ms / 1000.0), to_timestamp(r.due_ms / 1000.0)
    FROM unnest(string_to_array(:recipients, E'\\n'),
                CAST(string_to_array(:due_ms, ',') AS bigint[]))
         WITH ORDINALITY AS r(recipient, due_ms, n)
""")
INSERT_CHUNK = 20_000


def sender_usage(connection: Connection, sender_id: uuid.UUID, since: datetime,
                 window_ms: int) -> dict[int, int]:
    rows = connection.execute(SENDER_USAGE, {"sender_id": sender_id, "since": since,
                                             "window_ms": window_ms})
    return {int(start): int(count) for start, count in rows}


def insert_batch(connection: Connection, **values: object) -> tuple[uuid.UUID, datetime]:
    batch_id, created_at = connection.execute(INSERT_BATCH, values).one()
    return batch_id, created_at


def insert_emails(connection: Connection, *, batch_id: uuid.UUID, user_id: uuid.UUID,
                  sender_id: uuid.UUID, recipients: list[str], due_ms: list[int],
                  first_seq: int = 0) -> None:
    for start in range(0, len(recipients), INSERT_CHUNK):
        end = start + INSERT_CHUNK
        if any("\n" in address for address in recipients[start:end]):
            raise ValueError("a recipient address holds a line break")
        connection.execute(INSERT_EMAILS, {
            "batch_id": batch_id, "user_id": user_id, "sender_id": sender_id,
            "first_seq": first_seq + start, "recipients": "\n".join(recipients[start:end]),
            "due_ms": ",".join(map(str, due_ms[start:end]))})

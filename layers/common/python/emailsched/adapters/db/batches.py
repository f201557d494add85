"""Storing a batch and its emails; the sender's planned use of each window."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import Connection, text

from emailsched.adapters.db.events import recorded
from emailsched.domain.events import Actor
from emailsched.domain.model import PLAN_COUNTED_STATUSES, sql_list

# sender_usage: how many sends the sender has planned or made in each window from `since`
# on, so a new batch plans around its other batches. Served by ix_emails_sender_status_due.
SENDER_USAGE = text(f"""
    SELECT (floor(extract(epoch FROM COALESCE(sent_at, due_at)) * 1000 / :window_ms)
            * :window_ms)::bigint AS window_start,
           count(*)
    FROM emails
    WHERE sender_id = :sender_id AND status IN ({sql_list(PLAN_COUNTED_STATUSES)})
      AND (due_at >= :since OR sent_at >= :since)
    GROUP BY 1
""")

INSERT_BATCH = text("""
    INSERT INTO batches (user_id, sender_id, sender_name, subject, body, start_time, delay_ms,
                         hourly_limit, email_count, duplicates_removed, estimated_end_time,
                         sending_window, random_delay_ms, plan_seed, templated,
                         suppressed_removed, tracking)
    VALUES (:user_id, :sender_id, :sender_name, :subject, :body, :start_time, :delay_ms,
            :hourly_limit, :email_count, :duplicates_removed, :estimated_end_time,
            CAST(:sending_window AS jsonb), :random_delay_ms, :plan_seed, :templated,
            :suppressed_removed, CAST(:tracking AS jsonb))
    RETURNING id, created_at
""")

# insert_emails: one statement per chunk instead of one INSERT per row. Recipients and due
# times (epoch milliseconds) travel as two strings split by the server, and positions come
# from WITH ORDINALITY: pg8000 encodes a list parameter element by element in Python, which
# was most of a big request's time (BENCHMARKS.md); joining strings is one C call.
# A validated address holds no line break, so it can separate them.
# batch_senders: the senders a batch rotates over, each with its share and estimate.
INSERT_BATCH_SENDERS = text("""
    INSERT INTO batch_senders (batch_id, position, sender_id, email_count, estimated_end_time)
    SELECT :batch_id, r.n - 1, r.sender_id, r.email_count, to_timestamp(r.end_ms / 1000.0)
    FROM unnest(CAST(:sender_ids AS uuid[]), CAST(:counts AS int[]), CAST(:ends AS bigint[]))
         WITH ORDINALITY AS r(sender_id, email_count, end_ms, n)
""")
# hold_new_emails: a batch scheduled through a failing sender waits with the rest of its mail.
HOLD_NEW_EMAILS = text(recorded("""
    UPDATE emails SET status = 'held' WHERE batch_id = :batch_id AND sender_id = :sender_id
    RETURNING id, user_id, batch_id
""", "'held'", Actor.API, "'sender failing'"))

INSERT_EMAILS = text("""
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at)
    SELECT :batch_id, :user_id, :sender_id, :first_seq + (r.n - 1) * :seq_step, r.recipient,
           to_timestamp(r.due_ms / 1000.0), to_timestamp(r.due_ms / 1000.0)
    FROM unnest(string_to_array(:recipients, E'\\n'),
                CAST(string_to_array(:due_ms, ',') AS bigint[]))
         WITH ORDINALITY AS r(recipient, due_ms, n)
""")
# insert_emails_with_fields: the same, each email with its recipient's merge fields, which
# travel as one JSON array (one element per email, null for none) matched by position.
INSERT_EMAILS_WITH_FIELDS = text("""
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at,
                        fields)
    SELECT :batch_id, :user_id, :sender_id, :first_seq + (r.n - 1) * :seq_step, r.recipient,
           to_timestamp(r.due_ms / 1000.0), to_timestamp(r.due_ms / 1000.0),
           NULLIF(f.fields, 'null'::jsonb)
    FROM unnest(string_to_array(:recipients, E'\\n'),
                CAST(string_to_array(:due_ms, ',') AS bigint[]))
         WITH ORDINALITY AS r(recipient, due_ms, n)
    JOIN jsonb_array_elements(CAST(:fields AS jsonb)) WITH ORDINALITY AS f(fields, n)
      ON f.n = r.n
""")
INSERT_CHUNK = 20_000


def sender_usage(connection: Connection, sender_id: uuid.UUID, since: datetime,
                 window_ms: int) -> dict[int, int]:
    rows = connection.execute(SENDER_USAGE, {"sender_id": sender_id, "since": since,
                                             "window_ms": window_ms})
    return {int(start): int(count) for start, count in rows}


def insert_batch(connection: Connection, **values: object) -> tuple[uuid.UUID, datetime]:
    """`sending_window` (a mapping or None), `random_delay_ms` and `plan_seed` may be left
    out: a batch that sends at any time, without jitter."""
    window, tracking = values.get("sending_window"), values.get("tracking")
    values = {"random_delay_ms": 0, "plan_seed": 0, "templated": False,
              "suppressed_removed": 0, **values,
              "sending_window": None if window is None else json.dumps(window),
              "tracking": None if tracking is None else json.dumps(tracking)}
    batch_id, created_at = connection.execute(INSERT_BATCH, values).one()
    return batch_id, created_at


def insert_emails(connection: Connection, *, batch_id: uuid.UUID, user_id: uuid.UUID,
                  sender_id: uuid.UUID, recipients: list[str], due_ms: list[int],
                  first_seq: int = 0, seq_step: int = 1,
                  fields: list[dict[str, str]] | None = None) -> None:
    """`seq_step` > 1 for one sender's share of a rotation: positions first_seq, first_seq
    + step, ... (recipient i goes to sender i mod n). `fields`: each recipient's merge
    fields, stored once with its email (None: no recipient has any)."""
    for start in range(0, len(recipients), INSERT_CHUNK):
        end = start + INSERT_CHUNK
        if any("\n" in address for address in recipients[start:end]):
            raise ValueError("a recipient address holds a line break")
        params: dict[str, object] = {
            "batch_id": batch_id, "user_id": user_id, "sender_id": sender_id,
            "first_seq": first_seq + start * seq_step, "seq_step": seq_step,
            "recipients": "\n".join(recipients[start:end]),
            "due_ms": ",".join(map(str, due_ms[start:end]))}
        if fields is None:
            connection.execute(INSERT_EMAILS, params)
        else:
            params["fields"] = json.dumps([f or None for f in fields[start:end]])
            connection.execute(INSERT_EMAILS_WITH_FIELDS, params)


def insert_batch_senders(connection: Connection, batch_id: uuid.UUID,
                         shares: list[tuple[uuid.UUID, int, int]]) -> None:
    """`shares`: (sender id, email count, estimated end ms) in rotation order."""
    connection.execute(INSERT_BATCH_SENDERS, {
        "batch_id": batch_id, "sender_ids": [s for s, _, _ in shares],
        "counts": [c for _, c, _ in shares], "ends": [e for _, _, e in shares]})


def hold_new_emails(connection: Connection, batch_id: uuid.UUID, sender_id: uuid.UUID) -> None:
    connection.execute(HOLD_NEW_EMAILS, {"batch_id": batch_id, "sender_id": sender_id})

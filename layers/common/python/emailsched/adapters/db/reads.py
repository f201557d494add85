"""What the dashboard reads: email lists, batch lists with their counts, stats.

Every query is scoped by user_id first: another user's data is simply not there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from emailsched.adapters.db.rows import build
from emailsched.domain.model import OUTCOME_EMAIL_STATUSES, PENDING_EMAIL_STATUSES, sql_list
from emailsched.domain.records import BatchRow, EmailRow

__all__ = ["BatchRow", "EmailRow"]

# A follow-up's subject: its step's own, or "Re: <first subject>" (SPEC "Sequences").
_STEP_SUBJECT = """CASE WHEN e.step > 1
           THEN COALESCE(b.steps -> (e.step - 2) ->> 'subject', 'Re: ' || b.subject)
           ELSE b.subject END"""

_EMAIL_COLUMNS = f"""
    e.id, e.batch_id, e.recipient_email, {_STEP_SUBJECT} AS subject, e.due_at, e.status,
    COALESCE(NULLIF(b.sender_name, ''), s.name) AS sender_name, s.email AS sender_email,
    e.attempts, e.failure_reason,
    -- sentTime: when it was sent, which a later bounce does not move (issue 30).
    COALESCE(e.sent_at, e.finished_at) AS finished_at, e.step
"""

# list_pending: a user's unsent emails, soonest first. ix_emails_user_pending_due matches
# the WHERE (partial index on the pending statuses) and the ORDER BY.
_PENDING_WHERE = f"""
    e.user_id = :user_id AND e.status IN ({sql_list(PENDING_EMAIL_STATUSES)})
    AND (CAST(:batch_id AS uuid) IS NULL OR e.batch_id = :batch_id)
"""
LIST_PENDING = text(f"""
    SELECT {_EMAIL_COLUMNS}
    FROM emails e JOIN batches b ON b.id = e.batch_id JOIN senders s ON s.id = e.sender_id
    WHERE {_PENDING_WHERE}
    ORDER BY e.due_at, e.seq LIMIT :limit OFFSET :offset
""")
COUNT_PENDING = text(f"SELECT count(*) FROM emails e WHERE {_PENDING_WHERE}")

# list_finished: a user's sent and failed emails, newest first (ix_emails_user_finished).
# Their time is when they went (sent_at): a bounce later fails a sent email and moves its
# finished_at, never its send time; never sent, the time it failed.
_FINISHED_WHERE = f"""
    e.user_id = :user_id AND e.status IN ({sql_list(OUTCOME_EMAIL_STATUSES)})
    AND (CAST(:batch_id AS uuid) IS NULL OR e.batch_id = :batch_id)
"""
LIST_FINISHED = text(f"""
    SELECT {_EMAIL_COLUMNS}
    FROM emails e JOIN batches b ON b.id = e.batch_id JOIN senders s ON s.id = e.sender_id
    WHERE {_FINISHED_WHERE}
    ORDER BY e.finished_at DESC, e.seq DESC LIMIT :limit OFFSET :offset
""")
COUNT_FINISHED = text(f"SELECT count(*) FROM emails e WHERE {_FINISHED_WHERE}")

# stats_by_status: ix_emails_user_status, an index-only count per status.
STATS_BY_STATUS = text("""
    SELECT status, count(*) AS n FROM emails WHERE user_id = :user_id GROUP BY status
""")
# stats_per_hour: the last day's outcomes per hour (ix_emails_user_finished).
STATS_PER_HOUR = text(f"""
    SELECT date_trunc('hour', finished_at) AS hour,
           count(*) FILTER (WHERE status = 'sent') AS sent,
           count(*) FILTER (WHERE status = 'failed') AS failed
    FROM emails
    WHERE user_id = :user_id AND status IN ({sql_list(OUTCOME_EMAIL_STATUSES)})
      AND finished_at >= :since
    GROUP BY 1
""")
STATS_SENT_SINCE = text("""
    SELECT count(*) FROM emails
    WHERE user_id = :user_id AND status = 'sent' AND finished_at >= :since
""")

_BATCH_COLUMNS = """
    b.id, b.subject, s.email AS sender_email,
    COALESCE(NULLIF(b.sender_name, ''), s.name) AS sender_name, b.start_time,
    b.delay_ms, b.hourly_limit, b.status,
    b.email_count, b.duplicates_removed, b.estimated_end_time, b.created_at, b.sender_id,
    b.sending_window, b.random_delay_ms, b.suppressed_removed, b.paused_reason,
    (SELECT json_agg(json_build_object('name', rs.name, 'email', rs.email)
                     ORDER BY bs.position)
       FROM batch_senders bs JOIN senders rs ON rs.id = bs.sender_id
      WHERE bs.batch_id = b.id) AS rotation
"""
# The rotation's senders come from batch_senders' primary key (batch_id, position): a few
# rows per batch, in the order recipients are dealt to them.
LIST_BATCHES = text(f"""
    SELECT {_BATCH_COLUMNS} FROM batches b JOIN senders s ON s.id = b.sender_id
    WHERE b.user_id = :user_id ORDER BY b.created_at DESC, b.id LIMIT :limit OFFSET :offset
""")
COUNT_BATCHES = text("SELECT count(*) FROM batches WHERE user_id = :user_id")
GET_BATCH = text(f"""
    SELECT {_BATCH_COLUMNS} FROM batches b JOIN senders s ON s.id = b.sender_id
    WHERE b.id = :batch_id AND b.user_id = :user_id
""")
# batch_deliverability_counts: hard bounces from the partial ix_emails_batch_hard_bounce,
# complaints from the partial ix_emails_batch_complained;
# unsubscribes by probing the batch's recipients (uq_emails_batch_recipient_step) for
# each of its user's `unsubscribed` suppressions, which are few next to a batch's emails.
# The probe is exact: a recipient stored with capitals in its local part (the list keeps
# addresses in lower case) is not counted here, though it is suppressed all the same.
BATCH_DELIVERABILITY_COUNTS = text("""
    SELECT b.id,
           (SELECT count(*) FROM emails e WHERE e.batch_id = b.id
              AND e.bounce_class = 'hard_bounce') AS bounced,
           (SELECT count(*) FROM emails e WHERE e.batch_id = b.id
              AND e.complained_at IS NOT NULL) AS complained,
           (SELECT count(*) FROM suppressions sp WHERE sp.user_id = b.user_id
              AND sp.reason = 'unsubscribed' AND EXISTS (
                  SELECT 1 FROM emails e WHERE e.batch_id = b.id
                    AND e.recipient_email = sp.email)) AS unsubscribed
    FROM batches b WHERE b.id = ANY(:ids)
""")
# batch_counts: ix_emails_batch_status_seq answers this from the index.
BATCH_COUNTS = text("""
    SELECT batch_id, status, count(*) AS n FROM emails WHERE batch_id = ANY(:ids)
    GROUP BY batch_id, status
""")


def list_emails(connection: Connection, user_id: uuid.UUID, *, finished: bool,
                batch_id: uuid.UUID | None, limit: int, offset: int) -> tuple[list[EmailRow], int]:
    rows = email_rows(connection, user_id, finished=finished, batch_id=batch_id, limit=limit,
                      offset=offset)
    return rows, count_emails(connection, user_id, finished=finished, batch_id=batch_id)


def email_rows(connection: Connection, user_id: uuid.UUID, *, finished: bool,
               batch_id: uuid.UUID | None, limit: int, offset: int) -> list[EmailRow]:
    params: dict[str, Any] = {"user_id": user_id, "batch_id": batch_id, "limit": limit,
                              "offset": offset}
    rows = connection.execute(LIST_FINISHED if finished else LIST_PENDING, params)
    return [build(EmailRow, row) for row in rows]


def count_emails(connection: Connection, user_id: uuid.UUID, *, finished: bool,
                 batch_id: uuid.UUID | None) -> int:
    params = {"user_id": user_id, "batch_id": batch_id}
    return int(connection.execute(COUNT_FINISHED if finished else COUNT_PENDING,
                                  params).scalar_one())


def status_counts(connection: Connection, user_id: uuid.UUID) -> dict[str, int]:
    rows = connection.execute(STATS_BY_STATUS, {"user_id": user_id})
    return {row.status: int(row.n) for row in rows}


def per_hour(connection: Connection, user_id: uuid.UUID,
             since: datetime) -> dict[datetime, tuple[int, int]]:
    rows = connection.execute(STATS_PER_HOUR, {"user_id": user_id, "since": since})
    return {row.hour: (int(row.sent), int(row.failed)) for row in rows}


def sent_since(connection: Connection, user_id: uuid.UUID, since: datetime) -> int:
    return int(connection.execute(STATS_SENT_SINCE,
                                  {"user_id": user_id, "since": since}).scalar_one())


def list_batches(connection: Connection, user_id: uuid.UUID, limit: int,
                 offset: int) -> tuple[list[BatchRow], int]:
    rows = connection.execute(LIST_BATCHES, {"user_id": user_id, "limit": limit,
                                             "offset": offset})
    total = connection.execute(COUNT_BATCHES, {"user_id": user_id}).scalar_one()
    return [build(BatchRow, row) for row in rows], int(total)


def get_batch(connection: Connection, user_id: uuid.UUID, batch_id: uuid.UUID) -> BatchRow | None:
    row = connection.execute(GET_BATCH, {"user_id": user_id, "batch_id": batch_id}).one_or_none()
    return None if row is None else build(BatchRow, row)


def batch_counts(connection: Connection,
                 batch_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Emails per status, plus `bounced` (hard bounces), `complained` (spam complaints) and
    `unsubscribed` (recipients who unsubscribed), which are not statuses."""
    counts: dict[uuid.UUID, dict[str, int]] = {i: {} for i in batch_ids}
    if batch_ids:
        for row in connection.execute(BATCH_COUNTS, {"ids": list(batch_ids)}):
            counts[row.batch_id][row.status] = int(row.n)
        for row in connection.execute(BATCH_DELIVERABILITY_COUNTS, {"ids": list(batch_ids)}):
            counts[row.id].update(bounced=int(row.bounced), complained=int(row.complained),
                                  unsubscribed=int(row.unsubscribed))
    return counts

"""Emails in any status, and one email with its stored events (GET /emails, GET
/emails/{id}). Every statement is scoped by user_id first; rows are read by name."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, RowMapping, text

from emailsched.adapters.db.errors import reading
from emailsched.domain.email_history import EmailFilter, EmailRecord
from emailsched.domain.events import Actor, EmailEvent, EventType

_COLUMNS = """
    e.id, e.batch_id, e.recipient_email, e.status, e.step, e.due_at, e.attempts,
    e.failure_reason, e.sent_at, e.finished_at, e.created_at, e.updated_at,
    COALESCE(e.subject, CASE WHEN e.step > 1
         THEN COALESCE(b.steps -> (e.step - 2) ->> 'subject', 'Re: ' || b.subject)
         ELSE b.subject END) AS subject,
    COALESCE(NULLIF(b.sender_name, ''), s.name) AS sender_name, s.email AS sender_email,
    (SELECT st.reason FROM sequence_stops st
     WHERE st.batch_id = e.batch_id AND st.recipient_email = e.recipient_email) AS stop_reason,
    (SELECT th.lead_status FROM inbox_threads th
     WHERE th.batch_id = e.batch_id AND th.recipient_email = e.recipient_email) AS thread_status
"""
# The filters of GET /emails; each is off when its parameter is NULL. With a batch, the
# batch's emails come from ix_emails_batch_status_seq; without one, ix_emails_user_status.
_WHERE = """
    e.user_id = :user_id
    AND (CAST(:batch_id AS uuid) IS NULL OR e.batch_id = :batch_id)
    AND (CAST(:statuses AS text[]) IS NULL OR e.status = ANY(CAST(:statuses AS text[])))
    AND (CAST(:recipient AS text) IS NULL OR lower(e.recipient_email) = lower(:recipient))
"""
# list_emails: newest due first; the sequence position breaks ties of one due time.
LIST_EMAILS = text(f"""
    SELECT {_COLUMNS}
    FROM emails e JOIN batches b ON b.id = e.batch_id JOIN senders s ON s.id = e.sender_id
    WHERE {_WHERE}
    ORDER BY e.due_at DESC, e.seq DESC LIMIT :limit OFFSET :offset
""")
COUNT_EMAILS = text(f"SELECT count(*) FROM emails e WHERE {_WHERE}")
GET_EMAIL = text(f"""
    SELECT {_COLUMNS}
    FROM emails e JOIN batches b ON b.id = e.batch_id JOIN senders s ON s.id = e.sender_id
    WHERE e.id = :email_id AND e.user_id = :user_id
""")
# email_events: in the order they were written (ix_email_events_email).
EMAIL_EVENTS = text("""
    SELECT type, at, by, detail FROM email_events WHERE email_id = :email_id ORDER BY id
""")


class PgEmailHistory:
    def __init__(self, engine: Engine):
        self._engine = engine

    def page(self, user_id: uuid.UUID, where: EmailFilter, limit: int,
             offset: int) -> list[EmailRecord]:
        params = {**_filter_params(user_id, where), "limit": limit, "offset": offset}
        with reading(self._engine) as connection:
            return [_record(row._mapping) for row in connection.execute(LIST_EMAILS, params)]

    def count(self, user_id: uuid.UUID, where: EmailFilter) -> int:
        with reading(self._engine) as connection:
            return int(connection.execute(COUNT_EMAILS,
                                          _filter_params(user_id, where)).scalar_one())

    def email(self, user_id: uuid.UUID, email_id: uuid.UUID) -> EmailRecord | None:
        with reading(self._engine) as connection:
            row = connection.execute(GET_EMAIL, {"user_id": user_id,
                                                 "email_id": email_id}).one_or_none()
            if row is None:
                return None
            events = [_event(found._mapping) for found in
                      connection.execute(EMAIL_EVENTS, {"email_id": email_id})]
        return _record(row._mapping, events)


def _filter_params(user_id: uuid.UUID, where: EmailFilter) -> dict[str, Any]:
    return {"user_id": user_id, "batch_id": where.batch_id,
            "statuses": [s.value for s in where.statuses] or None,
            "recipient": where.recipient}


def _record(row: RowMapping, events: list[EmailEvent] | None = None) -> EmailRecord:
    return EmailRecord(
        id=row["id"], batch_id=row["batch_id"], recipient_email=row["recipient_email"],
        subject=row["subject"], status=row["status"], step=row["step"], due_at=row["due_at"],
        sender_name=row["sender_name"], sender_email=row["sender_email"],
        attempts=row["attempts"], failure_reason=row["failure_reason"],
        sent_at=row["sent_at"], finished_at=row["finished_at"], created_at=row["created_at"],
        updated_at=row["updated_at"], stop_reason=row["stop_reason"],
        thread_status=row["thread_status"], events=events or [])


def _event(row: RowMapping) -> EmailEvent:
    return EmailEvent(EventType(row["type"]), row["at"], Actor(row["by"]), row["detail"])

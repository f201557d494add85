"""The inbox in Postgres for the API: threads listed and searched, one thread's
conversation, a lead's status and unread flag set by the user, and a reply written in the
product added to the ledger as an email. Every statement is scoped by user_id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, text

from emailsched.adapters.db.errors import reading, transaction
from emailsched.adapters.db.events import record_event
from emailsched.adapters.db.inbound_records import ADD_STOP, STOP_PENDING_BY_USER
from emailsched.adapters.db.inbox_keeper import SET_STATUS
from emailsched.domain.events import Actor, EventType
from emailsched.domain.inbox.leads import LeadStatus, ends_conversation
from emailsched.domain.inbox.threads import InboxFilter, Thread
from emailsched.domain.model import EmailStatus

_THREAD = """
    SELECT th.id, th.batch_id, th.recipient_email, th.sender_id, b.subject,
           th.last_message_at, th.snippet, th.unread, th.lead_status,
           th.inbound_count + (SELECT count(*) FROM emails e
                               WHERE e.batch_id = th.batch_id
                                 AND e.recipient_email = th.recipient_email
                                 AND (e.sent_at IS NOT NULL OR e.kind = 'reply')) AS message_count
    FROM inbox_threads th JOIN batches b ON b.id = th.batch_id
"""
# GET /inbox's filters, each off when NULL; `q` matches the thread's words (the lead's
# address and its parts, the campaign's subject, its messages' addresses, subjects and
# text) through ix_inbox_threads_search: words, not any substring (an ILIKE beside it
# kept the planner off the index and cost a scan of every thread of the user).
_WHERE = """
    th.user_id = :user_id AND th.inbound_count > 0
    AND (CAST(:lead_status AS text) IS NULL OR th.lead_status = :lead_status)
    AND (CAST(:sender_id AS uuid) IS NULL OR th.sender_id = :sender_id)
    AND (CAST(:batch_id AS uuid) IS NULL OR th.batch_id = :batch_id)
    AND (CAST(:unread AS boolean) IS NULL OR th.unread = :unread)
    AND (CAST(:q AS text) IS NULL OR th.search @@ websearch_to_tsquery('english', :q))
"""
LIST_THREADS = text(f"""{_THREAD} WHERE {_WHERE}
    ORDER BY th.last_message_at DESC, th.id DESC LIMIT :limit OFFSET :offset""")
COUNT_THREADS = text(f"SELECT count(*) FROM inbox_threads th WHERE {_WHERE}")
GET_THREAD = text(f"{_THREAD} WHERE th.id = :id AND th.user_id = :user_id")
INBOUND = text("""
    SELECT id, kind, from_address, to_address, subject, text, html,
           headers->>'Message-ID' AS message_id, received_at AS at, attachments
    FROM inbox_messages WHERE thread_id = :thread_id ORDER BY received_at, id
""")
# Ours: every email sent to the lead in this batch (a bounce fails it later: sent_at stays),
# and every reply written here (sent or not yet), with what the sender's claim would send
# (subject and body by step).
OUTBOUND = text("""
    SELECT e.id, e.kind, e.status, s.email AS sender_email, e.recipient_email,
           COALESCE(e.subject, CASE WHEN e.step > 1
                THEN COALESCE(b.steps -> (e.step - 2) ->> 'subject', 'Re: ' || b.subject)
                ELSE b.subject END) AS subject,
           COALESCE(e.body, CASE WHEN e.step > 1 THEN b.steps -> (e.step - 2) ->> 'body'
                ELSE b.body END) AS body,
           b.templated AND e.body IS NULL AS templated, e.fields, e.message_id,
           COALESCE(e.sent_at, e.created_at) AS at
    FROM emails e JOIN batches b ON b.id = e.batch_id JOIN senders s ON s.id = e.sender_id
    WHERE e.batch_id = :batch_id AND e.recipient_email = :recipient
      AND (e.sent_at IS NOT NULL OR e.kind = 'reply')
    ORDER BY at, e.step
""")
MARK_READ = text("""
    UPDATE inbox_threads SET unread = :unread, updated_at = now()
    WHERE id = :id AND user_id = :user_id
""")
LOCK_THREAD = text("""
    SELECT lead_status, batch_id, recipient_email, user_id FROM inbox_threads
    WHERE id = :id AND user_id = :user_id FOR UPDATE
""")
# The email a lead's status change is recorded on: the last one sent to them (the one the
# poller matched their message to, usually), else their latest.
LATEST_EMAIL = text("""
    SELECT id FROM emails WHERE batch_id = :batch_id AND recipient_email = :recipient
    ORDER BY sent_at DESC NULLS LAST, created_at DESC LIMIT 1
""")
SUPPRESSED = text("""
    SELECT EXISTS (SELECT 1 FROM suppressions WHERE user_id = :user_id
                   AND email = lower(:recipient))
""")
SUPPRESS = text("""
    INSERT INTO suppressions (user_id, email, reason) VALUES (:user_id, lower(:email), :reason)
    ON CONFLICT (user_id, email) DO NOTHING
""")
# A reply written in the product: an email of the ledger, due now, with its own subject,
# body and references, step 0 minus its number (its own key in uq_emails_batch_recipient_
# step: a concurrent second reply conflicts and takes the next number).
ADD_REPLY = text(f"""
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at,
                        status, step, kind, subject, body, refs, fields)
    SELECT th.batch_id, th.user_id, th.sender_id, first.seq, th.recipient_email, :now, :now,
           '{EmailStatus.SCHEDULED.value}',
           LEAST(0, (SELECT min(x.step) FROM emails x WHERE x.batch_id = th.batch_id
                     AND x.recipient_email = th.recipient_email)) - 1,
           'reply', :subject, :body, CAST(:refs AS text[]), first.fields
    FROM inbox_threads th
    JOIN LATERAL (SELECT seq, fields FROM emails f WHERE f.batch_id = th.batch_id
                  AND f.recipient_email = th.recipient_email ORDER BY f.step DESC LIMIT 1)
         first ON true
    WHERE th.id = :thread_id AND th.user_id = :user_id
    ON CONFLICT (batch_id, recipient_email, step) DO NOTHING
    RETURNING id
""")
TOUCH = text("""
    UPDATE inbox_threads SET last_message_at = GREATEST(last_message_at, :now),
                             updated_at = now() WHERE id = :id
""")


class PgInbox:
    def __init__(self, engine: Engine):
        self._engine = engine

    def threads(self, user_id: uuid.UUID, where: InboxFilter, limit: int,
                offset: int) -> list[Thread]:
        params = {**_filter(user_id, where), "limit": limit, "offset": offset}
        with reading(self._engine) as c:
            return [_thread(row._mapping) for row in c.execute(LIST_THREADS, params)]

    def count(self, user_id: uuid.UUID, where: InboxFilter) -> int:
        with reading(self._engine) as c:
            return int(c.execute(COUNT_THREADS, _filter(user_id, where)).scalar_one())

    def thread(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> Thread | None:
        with reading(self._engine) as c:
            row = c.execute(GET_THREAD, {"id": thread_id, "user_id": user_id}).one_or_none()
        return None if row is None else _thread(row._mapping)

    def conversation(self, thread: Thread) -> tuple[list[RowMapping], list[RowMapping]]:
        """(theirs, ours) of a thread the caller has checked is the user's."""
        with reading(self._engine) as c:
            theirs = [r._mapping for r in c.execute(INBOUND, {"thread_id": thread.id})]
            ours = [r._mapping for r in c.execute(OUTBOUND, {
                "batch_id": thread.batch_id, "recipient": thread.recipient_email})]
        return theirs, ours

    def set_unread(self, user_id: uuid.UUID, thread_id: uuid.UUID, unread: bool) -> None:
        with transaction(self._engine) as c:
            c.execute(MARK_READ, {"id": thread_id, "user_id": user_id, "unread": unread})

    def set_lead_status(self, user_id: uuid.UUID, thread_id: uuid.UUID,
                        status: LeadStatus) -> bool:
        """The user's status for the lead, recorded as an event; a status that ends the
        conversation ends the sequence. False when the thread is not the user's."""
        with transaction(self._engine) as c:
            row = c.execute(LOCK_THREAD, {"id": thread_id, "user_id": user_id}).one_or_none()
            if row is None:
                return False
            current, batch_id, recipient, owner = row
            if current == status.value:
                return True
            c.execute(SET_STATUS, {"id": thread_id, "status": status.value,
                                   "by": Actor.USER.value})
            latest = c.execute(LATEST_EMAIL, {"batch_id": batch_id,
                                              "recipient": recipient}).scalar_one()
            record_event(c, latest, EventType.LEAD_STATUS_CHANGED, Actor.USER,
                         {"from": current, "to": status.value})
            if ends_conversation(status):
                _end(c, owner, batch_id, recipient, latest, status)
            return True

    def suppressed(self, user_id: uuid.UUID, recipient: str) -> bool:
        with reading(self._engine) as c:
            return bool(c.execute(SUPPRESSED, {"user_id": user_id,
                                               "recipient": recipient}).scalar_one())

    def add_reply(self, user_id: uuid.UUID, thread_id: uuid.UUID, subject: str, body: str,
                  refs: Sequence[str], now: datetime) -> uuid.UUID | None:
        """The reply's email id (scheduled, due now); None when the thread is not the
        user's. Retries its step number when a concurrent reply took it."""
        params = {"thread_id": thread_id, "user_id": user_id, "subject": subject,
                  "body": body, "refs": list(refs), "now": now}
        for _ in range(5):
            with transaction(self._engine) as c:
                created = c.execute(ADD_REPLY, params).scalar_one_or_none()
                if created is not None:
                    c.execute(TOUCH, {"id": thread_id, "now": now})
                    return uuid.UUID(str(created))
                if c.execute(GET_THREAD, {"id": thread_id, "user_id": user_id}).first() is None:
                    return None
        raise RuntimeError("could not number the reply after 5 tries")


def _end(c: Connection, user_id: uuid.UUID, batch_id: uuid.UUID, recipient: str,
         email_id: uuid.UUID, status: LeadStatus) -> None:
    """No further follow-ups for the lead; an unsubscribed lead is suppressed too."""
    if status is LeadStatus.UNSUBSCRIBED:
        c.execute(SUPPRESS, {"user_id": user_id, "email": recipient, "reason": "unsubscribed"})
    c.execute(ADD_STOP, {"batch_id": batch_id, "recipient": recipient,
                         "reason": "lead_status", "email_id": email_id})
    c.execute(STOP_PENDING_BY_USER, {"batch_id": batch_id, "recipient": recipient,
                             "status": EmailStatus.CANCELLED.value})


def _filter(user_id: uuid.UUID, where: InboxFilter) -> dict[str, Any]:
    q = (where.q or "").strip() or None
    return {"user_id": user_id, "sender_id": where.sender_id, "batch_id": where.batch_id,
            "lead_status": None if where.lead_status is None else where.lead_status.value,
            "unread": where.unread, "q": q}


def _thread(row: RowMapping) -> Thread:
    return Thread(id=row["id"], batch_id=row["batch_id"], recipient_email=row["recipient_email"],
                  sender_id=row["sender_id"], subject=row["subject"],
                  last_message_at=row["last_message_at"], snippet=row["snippet"],
                  unread=row["unread"], lead_status=row["lead_status"],
                  message_count=int(row["message_count"]))

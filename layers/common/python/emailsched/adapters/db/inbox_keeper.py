"""The reply poller's side of the inbox in Postgres: a matched inbound message kept in its
lead's thread, and what it does to the lead (status, removal, an away lead's follow-ups
moved), all in one transaction per message and lead.

Keeping is idempotent: a message already in the thread (uq_inbox_messages_inbound: the
thread and the inbound Message-ID) changes nothing, so a mailbox read twice stores and
counts nothing twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from emailsched.adapters.db.errors import transaction
from emailsched.adapters.db.events import record_event
from emailsched.adapters.db.inbound_records import ADD_STOP, STOP_PENDING
from emailsched.domain.events import Actor, EventType
from emailsched.domain.inbox.content import KeptMessage
from emailsched.domain.inbox.leads import LeadStatus, poller_change, resume_at
from emailsched.domain.inbox.verdict import Verdict
from emailsched.domain.model import EmailStatus
from emailsched.domain.sending_window import SendingWindow
from emailsched.ports import MatchedEmail

# A new thread is searchable by the lead's address (whole, local part, domain and its
# labels: "ann", "acme.example", "acme") and the campaign's subject.
UPSERT_THREAD = text("""
    INSERT INTO inbox_threads (user_id, batch_id, recipient_email, sender_id, search)
    SELECT :user_id, :batch_id, :recipient, :sender_id,
           to_tsvector('simple', CAST(:address_words AS text))
           || to_tsvector('english', b.subject)
    FROM batches b WHERE b.id = :batch_id
    ON CONFLICT (batch_id, recipient_email) DO UPDATE SET updated_at = now()
    RETURNING id, lead_status
""")
ADD_MESSAGE = text("""
    INSERT INTO inbox_messages (thread_id, email_id, inbound_id, kind, from_address,
                                to_address, subject, text, html, headers, attachments,
                                received_at)
    VALUES (:thread_id, :email_id, :inbound_id, :kind, :from_address, :to_address, :subject,
            :text, :html, CAST(:headers AS jsonb), CAST(:attachments AS jsonb), :received_at)
    ON CONFLICT (thread_id, inbound_id) DO NOTHING
    RETURNING id
""")
TOUCH_THREAD = text("""
    UPDATE inbox_threads SET unread = true, inbound_count = inbound_count + 1,
        last_message_at = GREATEST(COALESCE(last_message_at, :at), :at),
        snippet = :snippet, updated_at = now(),
        search = search || to_tsvector('english', CAST(:searchable AS text))
    WHERE id = :id
""")
SET_STATUS = text("""
    UPDATE inbox_threads SET lead_status = :status, lead_status_by = :by,
                             lead_status_at = now(), updated_at = now()
    WHERE id = :id
""")
SUPPRESS = text("""
    INSERT INTO suppressions (user_id, email, reason)
    VALUES (:user_id, lower(:email), 'unsubscribed')
    ON CONFLICT (user_id, email) DO NOTHING
""")
WINDOW = text("""
    SELECT b.sending_window, s.timezone, b.random_delay_ms
    FROM batches b JOIN senders s ON s.id = b.sender_id WHERE b.id = :batch_id
""")
SET_RESUME = text("UPDATE inbox_threads SET resume_at = :resume WHERE id = :id")
# The lead's planned follow-ups (served by uq_emails_batch_recipient_step) wait until the
# lead is back; the planner reads resume_at for those it plans later (INSERT_STEPS). One
# already on the queue (the pump enqueues ahead of the due time) goes back to the pump:
# its message, when it arrives, finds it `scheduled` and leaves it (the sender takes only
# `queued` emails), and the pump enqueues it again once it is due.
# The batch's jitter is kept: each moved step gets 0..random_delay_ms more, drawn from its
# recipient and step (the planner draws the same for a step it plans later).
JITTER = ("make_interval(secs => mod(abs(hashtext(recipient_email || step)), :jitter_ms + 1)"
          " / 1000.0)")
MOVE_FOLLOW_UPS = text(f"""
    UPDATE emails SET due_at = CAST(:resume AS timestamptz) + {JITTER},
                      wake_at = CAST(:resume AS timestamptz) + {JITTER},
                      status = '{EmailStatus.SCHEDULED.value}', updated_at = now()
    WHERE batch_id = :batch_id AND recipient_email = :recipient AND step > 1
      AND status IN ('{EmailStatus.SCHEDULED.value}', '{EmailStatus.QUEUED.value}')
      AND due_at < CAST(:resume AS timestamptz)
""")


class PgInboxKeeper:
    def __init__(self, engine: Engine):
        self.engine = engine

    def keep(self, email: MatchedEmail, sender_id: uuid.UUID, message: KeptMessage,
             verdict: Verdict) -> bool:
        """Store `message` in the lead's thread and act on `verdict`; False when the
        thread already had it."""
        with transaction(self.engine) as c:
            thread_id, current = c.execute(UPSERT_THREAD, {
                "user_id": email.user_id, "batch_id": email.batch_id,
                "recipient": email.recipient, "sender_id": sender_id,
                "address_words": address_words(email.recipient)}).one()
            params = _message_params(thread_id, email, message)
            if c.execute(ADD_MESSAGE, params).first() is None:
                return False
            c.execute(TOUCH_THREAD, {"id": thread_id, "at": message.received_at,
                                     "snippet": message.snippet,
                                     "searchable": params["searchable"]})
            if verdict.status is not None:
                _change_status(c, thread_id, email, LeadStatus(current), verdict.status)
            if verdict.remove:
                _remove(c, email)
            if verdict.back_on is not None:
                _move_follow_ups(c, thread_id, email, verdict)
            return True


def address_words(address: str) -> str:
    """An address as the words a person searches it by: whole, local part, domain and each
    of the domain's labels."""
    local, _, domain = address.lower().rpartition("@")
    return " ".join(dict.fromkeys([address.lower(), local, domain, *domain.split(".")]))


def _message_params(thread_id: uuid.UUID, email: MatchedEmail,
                    message: KeptMessage) -> dict[str, Any]:
    content, headers = message.content, message.content.headers
    return {"thread_id": thread_id, "email_id": email.id, "inbound_id": message.inbound_id,
            "kind": message.kind, "from_address": headers.get("From", ""),
            "to_address": headers.get("To", ""), "subject": headers.get("Subject", ""),
            "text": content.text, "html": content.html, "headers": json.dumps(headers),
            "attachments": json.dumps([_attachment(a) for a in content.attachments]),
            "received_at": message.received_at,
            "searchable": " ".join([headers.get("From", ""), headers.get("To", ""),
                                    headers.get("Subject", ""), content.text[:100_000]])}


def _attachment(attachment: Any) -> dict[str, Any]:
    found = asdict(attachment)
    return {"name": found["name"], "size": found["size"],
            "contentType": found["content_type"]}


def _change_status(c: Connection, thread_id: uuid.UUID, email: MatchedEmail,
                   current: LeadStatus, proposed: LeadStatus) -> None:
    changed = poller_change(current, proposed)
    if changed is None:
        return
    c.execute(SET_STATUS, {"id": thread_id, "status": changed.value, "by": Actor.POLLER.value})
    record_event(c, email.id, EventType.LEAD_STATUS_CHANGED, Actor.POLLER,
                 {"from": current.value, "to": changed.value})


def _remove(c: Connection, email: MatchedEmail) -> None:
    """As an unsubscribe click: the address suppressed, the sequence ended."""
    c.execute(SUPPRESS, {"user_id": email.user_id, "email": email.recipient})
    c.execute(ADD_STOP, {"batch_id": email.batch_id, "recipient": email.recipient,
                         "reason": "unsubscribed", "email_id": email.id})
    c.execute(STOP_PENDING, {"batch_id": email.batch_id, "recipient": email.recipient,
                             "status": EmailStatus.SUPPRESSED.value})
    record_event(c, email.id, EventType.UNSUBSCRIBED, Actor.POLLER, {"reason": "reply"})


def _move_follow_ups(c: Connection, thread_id: uuid.UUID, email: MatchedEmail,
                     verdict: Verdict) -> None:
    assert verdict.back_on is not None
    raw_window, zone, jitter_ms = c.execute(WINDOW, {"batch_id": email.batch_id}).one()
    window = None if raw_window is None else SendingWindow.from_api(raw_window)
    resume: datetime = resume_at(verdict.back_on, window, zone or "UTC")
    c.execute(SET_RESUME, {"id": thread_id, "resume": resume})
    c.execute(MOVE_FOLLOW_UPS, {"batch_id": email.batch_id, "recipient": email.recipient,
                                "resume": resume, "jitter_ms": int(jitter_ms or 0)})

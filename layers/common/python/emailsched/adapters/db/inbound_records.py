"""What the reply poller writes for bounces and complaints beyond a hard bounce by
Message-ID (adapters/db/sequences.py): the match by failed recipient, soft-bounce streaks,
and complaints with their rate. Each record is one short transaction, idempotent through
inbound_events (one record per (email, inbound message))."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from emailsched.adapters.db.bounce_ledger import HOLD_FOR_BOUNCES
from emailsched.adapters.db.events import recorded
from emailsched.domain.bounces import COMPLAINT_WINDOW, should_pause_for_complaints
from emailsched.domain.events import Actor
from emailsched.domain.model import EMAIL_TRANSITIONS, EmailStatus, EmailTransition, sql_list
from emailsched.ports import MatchedEmail

# replies_match_recipient: a report naming no Message-ID of ours. The sender's latest sent
# email to that address (ix_emails_sender_recipient, partial on sent_at IS NOT NULL).
MATCH_RECIPIENT = text("""
    SELECT id, batch_id, user_id, recipient_email, step, status FROM emails
    WHERE sender_id = :sender_id AND lower(recipient_email) = lower(:address)
      AND sent_at IS NOT NULL AND sent_at > now() - make_interval(days => :days)
    ORDER BY sent_at DESC LIMIT 1
""")
RECORD_INBOUND = text("""
    INSERT INTO inbound_events (email_id, inbound_id, kind) VALUES (:email_id, :inbound_id, :kind)
    ON CONFLICT DO NOTHING
""")
COUNT_SOFT = text("""
    INSERT INTO bounce_streaks (user_id, email, soft_bounces) VALUES (:user_id, lower(:email), 1)
    ON CONFLICT (user_id, email) DO UPDATE
    SET soft_bounces = bounce_streaks.soft_bounces + 1, updated_at = now()
    RETURNING soft_bounces
""")
END_STREAK = text("DELETE FROM bounce_streaks WHERE user_id = :user_id AND email = lower(:email)")
SUPPRESS = text("""
    INSERT INTO suppressions (user_id, email, reason) VALUES (:user_id, lower(:email), :reason)
    ON CONFLICT (user_id, email) DO NOTHING
""")
NOTE_COMPLAINT = text("""
    UPDATE emails SET complained_at = now(), updated_at = now() WHERE id = :id
    RETURNING sender_id
""")
COUNT_COMPLAINT = text("""
    UPDATE senders SET complaints = complaints + 1, updated_at = now() WHERE id = :id
""")
# sender_complaint_rate: the sender's last :window sends (ix_emails_sender_sent read
# backwards, index-only) and, among them, the complained ones (the tiny partial
# ix_emails_sender_complained): no heap row is read for the sends themselves.
SENDER_COMPLAINT_RATE = text("""
    WITH recent AS (
        SELECT sent_at FROM emails WHERE sender_id = :sender_id AND status = 'sent'
        ORDER BY sent_at DESC LIMIT :window)
    SELECT (SELECT count(*) FROM recent),
           (SELECT count(*) FROM emails WHERE sender_id = :sender_id
              AND complained_at IS NOT NULL AND status = 'sent'
              AND sent_at >= (SELECT min(sent_at) FROM recent))
""")
PAUSE_SENDER_BATCHES = text("""
    UPDATE batches SET status = 'paused', paused_reason = 'complaint_rate', updated_at = now()
    WHERE status = 'active' AND id IN (SELECT batch_id FROM batch_senders
                                       WHERE sender_id = :sender_id)
    RETURNING id
""")
ADD_STOP = text("""
    INSERT INTO sequence_stops (batch_id, recipient_email, reason, email_id)
    VALUES (:batch_id, :recipient, :reason, :email_id)
    ON CONFLICT (batch_id, recipient_email) DO NOTHING
""")
# The recipient's later steps still pending (`sending` too: that fences a worker that
# claimed a follow-up just before, its point of no return requiring `sending`).
_STOP_PENDING = f"""
    UPDATE emails SET status = :status, finished_at = now(), claim_token = NULL,
                      updated_at = now()
    WHERE batch_id = :batch_id AND recipient_email = :recipient AND step > 1
      AND status IN ({sql_list(EMAIL_TRANSITIONS[EmailTransition.STOP_REPLIED][0])})
    RETURNING id, user_id, batch_id, status
"""
STOP_PENDING = text(recorded(_STOP_PENDING, "status", Actor.POLLER))
# The same when the user ends the conversation (a lead status, issue 26).
STOP_PENDING_BY_USER = text(recorded(_STOP_PENDING, "status", Actor.USER))


def email_to(c: Connection, sender_id: uuid.UUID, address: str,
             days: int) -> MatchedEmail | None:
    row = c.execute(MATCH_RECIPIENT, {"sender_id": sender_id, "address": address,
                                      "days": days}).one_or_none()
    return None if row is None else MatchedEmail(*row)


def first_record(c: Connection, email: MatchedEmail, inbound_id: str, kind: str) -> bool:
    """Whether this inbound message is new for this email (then it is recorded)."""
    return bool(c.execute(RECORD_INBOUND, {"email_id": email.id, "inbound_id": inbound_id,
                                           "kind": kind}).rowcount)


def soft_bounce(c: Connection, email: MatchedEmail, threshold: int) -> bool:
    """Count one more soft bounce of the address; whether that suppressed it."""
    count = int(c.execute(COUNT_SOFT, {"user_id": email.user_id,
                                       "email": email.recipient}).scalar_one())
    if count < threshold:
        return False
    c.execute(SUPPRESS, {"user_id": email.user_id, "email": email.recipient,
                         "reason": "hard_bounce"})
    stop(c, email, "hard_bounce")
    return True


def end_streak(c: Connection, email: MatchedEmail) -> None:
    c.execute(END_STREAK, {"user_id": email.user_id, "email": email.recipient})


def complaint(c: Connection, email: MatchedEmail) -> bool:
    """Suppress the address (`complaint`), end its sequence, count the complaint on the
    email and the sender; whether the sender's batches paused for the complaint rate."""
    sender_id = c.execute(NOTE_COMPLAINT, {"id": email.id}).scalar_one()
    c.execute(COUNT_COMPLAINT, {"id": sender_id})
    c.execute(SUPPRESS, {"user_id": email.user_id, "email": email.recipient,
                         "reason": "complaint"})
    stop(c, email, "complaint")
    sends, complaints = c.execute(SENDER_COMPLAINT_RATE, {"sender_id": sender_id,
                                                          "window": COMPLAINT_WINDOW}).one()
    if not should_pause_for_complaints(int(sends), int(complaints)):
        return False
    paused = [row[0] for row in c.execute(PAUSE_SENDER_BATCHES, {"sender_id": sender_id})]
    for batch_id in paused:
        c.execute(HOLD_FOR_BOUNCES, {"batch_id": batch_id})
    return bool(paused)


def stop(c: Connection, email: MatchedEmail, reason: str,
         status: EmailStatus = EmailStatus.SUPPRESSED) -> None:
    """End the recipient's sequence in the email's batch: no later step goes out."""
    c.execute(ADD_STOP, {"batch_id": email.batch_id, "recipient": email.recipient,
                         "reason": reason, "email_id": email.id})
    c.execute(STOP_PENDING, {"batch_id": email.batch_id, "recipient": email.recipient,
                             "status": status.value})

"""Sequences in Postgres: the follow-up planner's work list and inserts, the stops that end
a recipient's sequence, and the reply poller's checkpoints, matches and records.

The planner's work list is the partial index ix_emails_awaiting_next (sent emails whose
next step is not planned yet), so a run costs what is to plan, not what was ever sent.
Concurrent planners take disjoint rows (FOR UPDATE SKIP LOCKED) and the unique (batch,
recipient, step) constraint makes a second insert of one step a no-op.

A stop is a row of sequence_stops (batch, recipient) plus, in the same transaction, the
recipient's pending emails of that batch moved to `replied` or `suppressed` (from
`sending` too: that fences a worker that claimed a follow-up just before, as its point of
no return requires `sending` under its token). The sender's claim also skips stopped
recipients (adapters/db/ledger.py CLAIM), and the planner's `end_stopped` catches a
follow-up planned while a stop was being written (READ COMMITTED: neither saw the other).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from emailsched.adapters.db import batches as batch_sql
from emailsched.adapters.db import inbound_records as records
from emailsched.adapters.db import senders as sender_sql
from emailsched.adapters.db.errors import transaction
from emailsched.adapters.db.events import record_event, recorded
from emailsched.domain.events import Actor, EventType
from emailsched.domain.model import (
    EMAIL_TRANSITIONS,
    EmailStatus,
    EmailTransition,
    sql_list,
)
from emailsched.domain.senders import MailServer, Security, SenderLimits
from emailsched.ports import (
    FollowUpCandidate,
    MailboxPosition,
    MatchedEmail,
    NewStep,
    ReplyMailbox,
)

_STOPPABLE = sql_list(EMAIL_TRANSITIONS[EmailTransition.STOP_REPLIED][0])
_SENT = sql_list([EmailStatus.SENT])
_REPLIED = EmailStatus.REPLIED.value
_SUPPRESSED = EmailStatus.SUPPRESSED.value

# followups_awaiting: sent emails of batches with a later step, oldest first, with what the
# plan needs. Paused batches wait (their follow-ups are planned once resumed); cancelled
# ones are answered so the planner can drop them from the work list.
AWAITING = text(f"""
    SELECT e.id, e.batch_id, e.user_id, e.sender_id, e.recipient_email, e.step, e.seq,
           e.sent_at, b.status = 'active', b.hourly_limit, b.delay_ms,
           COALESCE((b.steps -> (e.step - 1) ->> 'waitSeconds')::bigint, 0),
           1 + COALESCE(jsonb_array_length(b.steps), 0),
           st.reason, sp.email IS NOT NULL, e.fields, b.sending_window, b.random_delay_ms,
           b.plan_seed
    FROM emails e
    JOIN batches b ON b.id = e.batch_id
    LEFT JOIN sequence_stops st
           ON st.batch_id = e.batch_id AND st.recipient_email = e.recipient_email
    LEFT JOIN suppressions sp ON sp.user_id = e.user_id AND sp.email = lower(e.recipient_email)
    WHERE e.awaiting_next AND e.status = {_SENT} AND b.status <> 'paused'
    ORDER BY e.sent_at
    LIMIT :limit
    FOR UPDATE OF e SKIP LOCKED
""")

# An away lead (inbox_threads.resume_at, set by the inbox from an out-of-office reply)
# gets the step once they are back, plus the batch's jitter (adapters/db/inbox_keeper.
# JITTER): GREATEST skips the NULL of everyone else.
INSERT_STEPS = text("""
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at,
                        status, step, awaiting_next, fields, finished_at)
    SELECT s.batch_id, s.user_id, s.sender_id, s.seq, s.recipient,
           GREATEST(to_timestamp(s.due_ms / 1000.0), back.at),
           GREATEST(to_timestamp(s.due_ms / 1000.0), back.at), s.status, s.step,
           s.awaiting_next, CAST(s.fields AS jsonb),
           CASE WHEN s.status = 'scheduled' THEN NULL ELSE now() END
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s(
        batch_id uuid, user_id uuid, sender_id uuid, seq int, recipient text, due_ms bigint,
        status text, step int, awaiting_next boolean, fields text)
    LEFT JOIN LATERAL (
        SELECT th.resume_at + make_interval(secs => mod(abs(hashtext(s.recipient || s.step)),
                                                        b.random_delay_ms + 1) / 1000.0) AS at
        FROM inbox_threads th JOIN batches b ON b.id = th.batch_id
        WHERE th.batch_id = s.batch_id AND th.recipient_email = s.recipient
          AND th.resume_at IS NOT NULL) back ON true
    ON CONFLICT (batch_id, recipient_email, step) DO NOTHING
""")

MARK_PLANNED = text("""
    UPDATE emails SET awaiting_next = false, updated_at = now() WHERE id = ANY(:ids)
""")

# followups_end_stopped: later steps still pending for a recipient who stopped (a planner
# and a stop that ran side by side). Served by the stops' primary key and
# uq_emails_batch_recipient_step.
END_STOPPED = text(recorded(f"""
    UPDATE emails e SET status = CASE WHEN st.reason = 'replied' THEN '{_REPLIED}'
                                      ELSE '{_SUPPRESSED}' END,
                        finished_at = now(), claim_token = NULL, updated_at = now()
    FROM sequence_stops st
    WHERE st.stopped_at > now() - interval '1 day'
      AND e.batch_id = st.batch_id AND e.recipient_email = st.recipient_email
      AND e.step > 1 AND e.status IN ({_STOPPABLE})
    RETURNING e.id, e.user_id, e.batch_id, e.status
""", "status", Actor.PUMP))

SET_STEPS = text("UPDATE batches SET steps = CAST(:steps AS jsonb) WHERE id = :batch_id")
AWAIT_FIRST_STEP = text("""
    UPDATE emails SET awaiting_next = true WHERE batch_id = :batch_id AND step = 1
""")

# replies_mailboxes: round-robin, the least recently polled first.
MAILBOXES = text("""
    SELECT id, email, imap_host, imap_port, imap_security, imap_username, imap_password_enc,
           kind
    FROM senders
    WHERE deleted_at IS NULL AND (imap_host IS NOT NULL OR :include_relay)
    ORDER BY replies_polled_at NULLS FIRST, id
    LIMIT :limit
""")
MARK_POLLED = text("UPDATE senders SET replies_polled_at = :now WHERE id = :id")
POSITION = text("""
    SELECT uidvalidity, last_uid FROM mailbox_checkpoints
    WHERE sender_id = :sender_id AND folder = :folder
""")
SAVE_POSITION = text("""
    INSERT INTO mailbox_checkpoints (sender_id, folder, uidvalidity, last_uid)
    VALUES (:sender_id, :folder, :uidvalidity, :last_uid)
    ON CONFLICT (sender_id, folder) DO UPDATE
    SET uidvalidity = EXCLUDED.uidvalidity, last_uid = EXCLUDED.last_uid, updated_at = now()
""")
# replies_match: served by ix_emails_message_id. Message-IDs are compared as the poller
# normalises them (domain lower-cased), which is how the sender writes ours.
MATCH = text("""
    SELECT id, batch_id, user_id, recipient_email, step, status FROM emails
    WHERE message_id = ANY(CAST(:ids AS text[])) AND sender_id = :sender_id
""")
BOUNCE = text(recorded(f"""
    UPDATE emails SET status = '{EmailStatus.FAILED.value}', bounce_class = 'hard_bounce',
                      failure_reason = :reason, finished_at = now(), updated_at = now()
    WHERE id = :id AND status = {_SENT}
    RETURNING id, user_id, batch_id, failure_reason
""", "'bounced'", Actor.POLLER, "failure_reason"))
SUPPRESS = text("""
    INSERT INTO suppressions (user_id, email, reason)
    VALUES (:user_id, lower(:email), 'hard_bounce')
    ON CONFLICT (user_id, email) DO NOTHING
""")


class PgFollowUpSession:
    def __init__(self, connection: Connection):
        self._c = connection

    def awaiting_follow_up(self, limit: int) -> list[FollowUpCandidate]:
        rows = self._c.execute(AWAITING, {"limit": limit})
        return [FollowUpCandidate(*row) for row in rows]

    def sender_limits(self, sender_id: uuid.UUID) -> SenderLimits:
        return sender_sql.sender_limits(self._c, sender_id)

    def sender_usage(self, sender_id: uuid.UUID, since: datetime,
                     window_ms: int) -> dict[int, int]:
        return batch_sql.sender_usage(self._c, sender_id, since, window_ms)

    def sender_day_usage(self, sender_id: uuid.UUID, since: datetime,
                         timezone: str) -> dict[int, int]:
        return sender_sql.sender_day_usage(self._c, sender_id, since, timezone)

    def insert_steps(self, steps: Sequence[NewStep]) -> int:
        if not steps:
            return 0
        rows = [{"batch_id": str(s.batch_id), "user_id": str(s.user_id),
                 "sender_id": str(s.sender_id), "seq": s.seq, "recipient": s.recipient,
                 "due_ms": s.due_ms, "status": s.status, "step": s.step,
                 "awaiting_next": s.awaiting_next,
                 "fields": None if s.fields is None else json.dumps(s.fields)} for s in steps]
        return int(self._c.execute(INSERT_STEPS, {"rows": json.dumps(rows)}).rowcount)

    def mark_planned(self, email_ids: Sequence[uuid.UUID]) -> None:
        if email_ids:
            self._c.execute(MARK_PLANNED, {"ids": list(email_ids)})

    def end_stopped(self) -> int:
        return int(self._c.execute(END_STOPPED).rowcount)


class PgFollowUpStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[PgFollowUpSession]:
        with transaction(self.engine) as connection:
            yield PgFollowUpSession(connection)


def store_steps(connection: Connection, batch_id: uuid.UUID,
                steps: Sequence[dict[str, Any]]) -> None:
    """A batch's follow-ups (called in scheduling's transaction, after its emails): its
    first emails join the planner's work list once sent."""
    if steps:
        connection.execute(SET_STEPS, {"batch_id": batch_id, "steps": json.dumps(list(steps))})
        connection.execute(AWAIT_FIRST_STEP, {"batch_id": batch_id})


class PgReplyStore:
    def __init__(self, engine: Engine, soft_bounces_before_suppress: int = 3,
                 match_days: int = 30):
        self.engine = engine
        self._soft_threshold, self._match_days = soft_bounces_before_suppress, match_days

    def mailboxes_to_poll(self, include_relay: bool, limit: int) -> list[ReplyMailbox]:
        with transaction(self.engine) as c:
            rows = c.execute(MAILBOXES, {"include_relay": include_relay, "limit": limit})
            return [ReplyMailbox(row[0], row[1],
                                 None if row[2] is None else
                                 MailServer(row[2], int(row[3]), Security(row[4]), row[5] or ""),
                                 row[6], row[7]) for row in rows]

    def mark_polled(self, sender_id: uuid.UUID, now: datetime) -> None:
        with transaction(self.engine) as c:
            c.execute(MARK_POLLED, {"id": sender_id, "now": now})

    def position(self, sender_id: uuid.UUID, folder: str) -> MailboxPosition | None:
        with transaction(self.engine) as c:
            row = c.execute(POSITION, {"sender_id": sender_id, "folder": folder}).one_or_none()
        return None if row is None else MailboxPosition(int(row[0]), int(row[1]))

    def save_position(self, sender_id: uuid.UUID, folder: str,
                      position: MailboxPosition) -> None:
        with transaction(self.engine) as c:
            c.execute(SAVE_POSITION, {"sender_id": sender_id, "folder": folder,
                                      "uidvalidity": position.uidvalidity,
                                      "last_uid": position.last_uid})

    def emails_by_message_id(self, sender_id: uuid.UUID,
                             message_ids: Sequence[str]) -> list[MatchedEmail]:
        if not message_ids:
            return []
        with transaction(self.engine) as c:
            rows = c.execute(MATCH, {"ids": list(message_ids), "sender_id": sender_id})
            return [MatchedEmail(*row) for row in rows]

    def email_to(self, sender_id: uuid.UUID, address: str) -> MatchedEmail | None:
        with transaction(self.engine) as c:
            return records.email_to(c, sender_id, address, self._match_days)

    def record_reply(self, email: MatchedEmail, inbound_id: str) -> bool:
        with transaction(self.engine) as c:
            if not records.first_record(c, email, inbound_id, "reply"):
                return False
            record_event(c, email.id, EventType.REPLY_RECEIVED, Actor.POLLER,
                         {"messageId": inbound_id})
            records.stop(c, email, "replied", EmailStatus.REPLIED)
            records.end_streak(c, email)  # mail reached them: their soft bounces are over
            return True

    def record_hard_bounce(self, email: MatchedEmail, inbound_id: str, reason: str) -> bool:
        with transaction(self.engine) as c:
            if not records.first_record(c, email, inbound_id, "hard_bounce"):
                return False
            c.execute(BOUNCE, {"id": email.id, "reason": reason[:1000]})
            c.execute(SUPPRESS, {"user_id": email.user_id, "email": email.recipient})
            records.stop(c, email, "hard_bounce")
            return True

    def record_soft_bounce(self, email: MatchedEmail) -> bool | None:
        with transaction(self.engine) as c:
            # One per email: Exim warns and reports the same message several times.
            if not records.first_record(c, email, "soft_bounce", "soft_bounce"):
                return None
            return records.soft_bounce(c, email, self._soft_threshold)

    def record_complaint(self, email: MatchedEmail, inbound_id: str) -> bool | None:
        with transaction(self.engine) as c:
            if not records.first_record(c, email, inbound_id, "complaint"):
                return None
            return records.complaint(c, email)


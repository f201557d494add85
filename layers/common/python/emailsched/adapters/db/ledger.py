"""The ledger's hot path: the pump's claims and recoveries, the sender's claims and outcomes.

Every statement is named for what it does and says why it has its shape. They are written
as SQL because their locking (FOR UPDATE SKIP LOCKED, conditional UPDATE ... RETURNING) is
the point, and it should be read, not inferred from an ORM.

The sender's calls for one queue message run inside `pinned()`: one connection for all of
them, in autocommit. Each of those calls is one statement, atomic on its own, so autocommit
changes no outcome (the `sent` of the point of no return is durable when the UPDATE
answers); it saves the pool's checkout and liveness ping per call and the BEGIN and COMMIT
round trips, three of the four round trips of each (see BENCHMARKS.md).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, text

from emailsched.adapters.db import senders
from emailsched.adapters.db.errors import wrap_db_errors
from emailsched.adapters.db.events import recorded
from emailsched.adapters.db.rows import build
from emailsched.domain.events import Actor
from emailsched.domain.model import EmailStatus, sql_list
from emailsched.ports import (
    ClaimedEmail,
    ClaimedEmails,
    DueEmail,
    EmailState,
    PumpLedger,
    Seed,
    SeedSource,
    SenderHealthLedger,
    SenderLedger,
    SmtpAccount,
    SmtpAccountSource,
)

# The statuses as SQL literals, built from the enum (domain/model.py).
_SCHEDULED, _QUEUED, _SENDING, _SENT, _FAILED, _SUPPRESSED = (
    sql_list([status]) for status in (EmailStatus.SCHEDULED, EmailStatus.QUEUED,
                                      EmailStatus.SENDING, EmailStatus.SENT,
                                      EmailStatus.FAILED, EmailStatus.SUPPRESSED))
_REPLIED = sql_list([EmailStatus.REPLIED])

# pump_take_back_expired_leases: a worker that died (or stalled past its lease) while holding
# emails in `sending` never reached the point of no return, or the email would be `sent`;
# hand them back to the pump. Served by ix_emails_status_wake (status, wake_at).
TAKE_BACK_EXPIRED_LEASES = text(recorded(f"""
    UPDATE emails SET status = {_SCHEDULED}, wake_at = :now, claim_token = NULL,
                      updated_at = now()
    WHERE status = {_SENDING} AND wake_at < :now
    RETURNING id, user_id, batch_id
""", _SCHEDULED, Actor.PUMP, "'lease expired'"))

# pump_take_back_lost_messages: a `queued` email whose message should have arrived long ago
# lost it (a failed send after commit, a purged queue). Enqueue it again; if the message was
# only late, the sender's claim makes the second one a no-op. Its message was due at its
# wake_at or, for an email enqueued after it fell due (a backlog), when it was enqueued
# (updated_at): without the second test, every email of a backlog older than lost_after was
# taken back on the run after it was enqueued, and enqueued twice (BENCHMARKS.md).
TAKE_BACK_LOST_MESSAGES = text(f"""
    UPDATE emails SET status = {_SCHEDULED}, wake_at = :now, updated_at = now()
    WHERE status = {_QUEUED} AND wake_at < :lost_before AND updated_at < :lost_before
""")

# pump_count_in_flight: emails on the queue or in a worker. The pump tops up to its cap so
# the queue stays shallow. Two short range scans of ix_emails_status_wake.
COUNT_IN_FLIGHT = text(f"""
    SELECT count(*) FROM emails WHERE status IN ({_QUEUED}, {_SENDING})
""")

# pump_claim_due: the soonest `scheduled` emails that are due within the horizon. SKIP LOCKED
# gives overlapping pump runs disjoint sets, so no email is enqueued twice. Its cost grows
# with the emails due, not with all stored: an index range scan on (status, wake_at) that
# stops at the horizon or the limit.
CLAIM_DUE = text(f"""
    WITH due AS (
        SELECT id FROM emails
        WHERE status = {_SCHEDULED} AND wake_at <= :horizon_end
        ORDER BY wake_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE emails e SET status = {_QUEUED}, updated_at = now()
    FROM due WHERE e.id = due.id
    RETURNING e.id, e.sender_id, e.wake_at, e.seq
""")

# sender_look: the named emails as they stand, with what the limiter needs (the batch's
# hourly limit and the sender's own limits). No lock: the claim below decides; this only
# orders the work and skips what is already done.
LOOK = text("""
    SELECT e.id, e.status, e.sender_id, b.hourly_limit, e.wake_at AS ready_at, e.seq,
           s.hourly_limit AS sender_hourly_limit, s.daily_limit, s.timezone, s.min_delay_ms,
           b.sending_window, e.fields->>'timezone' AS recipient_timezone
    FROM emails e JOIN batches b ON b.id = e.batch_id JOIN senders s ON s.id = e.sender_id
    WHERE e.id = ANY(:ids)
""")

# sender_claim: take the emails (of one message, due now) that are still `queued`, after
# their sender's limiter granted each a slot, so `sending` always means "holds a slot" (the
# limiter's seed counts on that). One statement for all of them: a message names up to 10.
# A duplicate delivery finds them sending or sent and takes nothing. Served by the primary
# key.
#
# The send-time suppression check rides along: a named email whose recipient its user
# suppressed since scheduling becomes `suppressed` instead (EmailTransition.SUPPRESS),
# in the same statement, one probe of the suppressions primary key per email. What the
# send renders from comes back too: the batch's templates, the recipient's fields, the
# user's postal address (for the unsubscribe footer).
# Sequences (issue 16): a follow-up (step > 1) whose recipient's sequence ended (a reply,
# a hard bounce: sequence_stops) is not claimed but ended (`replied` / `suppressed`), like a
# suppressed one; a follow-up goes out with its step's subject (or "Re: <first subject>")
# and body, and the recipient's earlier Message-IDs (In-Reply-To, References), read
# through uq_emails_batch_recipient_step. First emails (step 1) pay one comparison.
# The inbox (issue 26): a reply written in the product (kind 'reply', step <= 0) carries its
# own subject, body (sent as written, not a template) and references: nullable columns read
# with COALESCE, NULL on every other email, so the claim costs what it did.
CLAIM = text(f"""
    WITH named AS (
        SELECT e.id, EXISTS (SELECT 1 FROM suppressions sp WHERE sp.user_id = e.user_id
                               AND sp.email = lower(e.recipient_email)) AS suppressed,
               e.step > 1 AND EXISTS (SELECT 1 FROM sequence_stops st
                                      WHERE st.batch_id = e.batch_id
                                        AND st.recipient_email = e.recipient_email) AS stopped
        FROM emails e WHERE e.id = ANY(:ids) AND e.status = {_QUEUED}
    ), ended AS (
        UPDATE emails e SET status = CASE WHEN st.reason = 'replied' THEN {_REPLIED}
                                          ELSE {_SUPPRESSED} END,
                            finished_at = now(), claim_token = NULL, updated_at = now()
        FROM named, sequence_stops st
        WHERE e.id = named.id AND named.stopped AND NOT named.suppressed
          AND st.batch_id = e.batch_id AND st.recipient_email = e.recipient_email
          AND e.status = {_QUEUED}
        RETURNING e.id, e.user_id, e.batch_id, e.status
    ), dropped AS (
        UPDATE emails e SET status = {_SUPPRESSED}, finished_at = now(), claim_token = NULL,
                            updated_at = now()
        FROM named WHERE e.id = named.id AND named.suppressed AND e.status = {_QUEUED}
        RETURNING e.id, e.user_id, e.batch_id
    ), noted AS (
        -- Their events (issue 23); in the usual claim both are empty.
        INSERT INTO email_events (email_id, user_id, batch_id, type, by)
        SELECT id, user_id, batch_id, status, '{Actor.WORKER.value}' FROM ended
        UNION ALL
        SELECT id, user_id, batch_id, {_SUPPRESSED}, '{Actor.WORKER.value}' FROM dropped
    ), claimed AS (
    UPDATE emails e SET status = {_SENDING}, wake_at = :lease_until, claim_token = :token,
                        updated_at = now()
    FROM named, batches b, senders s, users u
    WHERE e.id = named.id AND NOT named.suppressed AND NOT named.stopped
      AND e.status = {_QUEUED}
      AND b.id = e.batch_id AND s.id = e.sender_id AND u.id = e.user_id
    RETURNING e.id, s.email AS sender_email,
              COALESCE(NULLIF(b.sender_name, ''), s.name) AS sender_name,
              e.recipient_email AS recipient,
              COALESCE(e.subject, CASE WHEN e.step > 1
                   THEN COALESCE(b.steps -> (e.step - 2) ->> 'subject', 'Re: ' || b.subject)
                   ELSE b.subject END) AS subject,
              COALESCE(e.body, CASE WHEN e.step > 1 THEN b.steps -> (e.step - 2) ->> 'body'
                   ELSE b.body END) AS body,
              e.attempts, s.id AS sender_id, s.kind AS sender_kind,
              s.consecutive_failures AS sender_failures,
              b.templated AND e.body IS NULL AS templated, e.fields, u.postal_address,
              e.due_at, b.tracking, e.batch_id,
              COALESCE(e.refs, CASE WHEN e.step > 1 THEN ARRAY(
                  SELECT p.message_id FROM emails p
                  WHERE p.batch_id = e.batch_id AND p.recipient_email = e.recipient_email
                    AND p.step < e.step AND p.message_id IS NOT NULL
                  ORDER BY p.step) END) AS refs
    )
    -- Issue 19: how many this statement suppressed (emails_suppressed), on every row; one
    -- row of NULLs then the count when none was claimed.
    SELECT c.*, d.suppressed FROM (SELECT count(*) AS suppressed FROM dropped) d
    LEFT JOIN claimed c ON true
""")

# sender_return_to_queue: give claimed emails back to the queue before anything was sent, when a
# group's slots were granted too long ago to still count in the right window. Only while
# this worker's claim stands; the caller then refunds their slots.
RETURN_TO_QUEUE = text(f"""
    UPDATE emails SET status = {_QUEUED}, claim_token = NULL, wake_at = :wake_at,
                      updated_at = now()
    WHERE id = ANY(:ids) AND status = {_SENDING} AND claim_token = :token
    RETURNING id
""")

# sender_postpone: emails of a throttled message will be looked at again at `wake_at`; say
# so, or the pump would think their message lost. Never earlier than an email's own wake_at:
# the sender reads it as "not before", and the message's later emails are not due yet.
POSTPONE = text(f"""
    UPDATE emails SET wake_at = GREATEST(wake_at, :wake_at), updated_at = now()
    WHERE id = ANY(:ids) AND status = {_QUEUED}
""")

# sender_mark_sent: the point of no return, written before the server is told to deliver
# the emails of a round (which it holds whole, one per connection): one durable commit for
# all of them, as one each costs a worker far more CPU (BENCHMARKS.md). Each succeeds
# only while this worker's claim stands (the pump has not taken it back); the row count
# tells whether all did, and only when not is it asked which.
MARK_SENT = text(f"""
    UPDATE emails SET status = {_SENT}, sent_at = :now, finished_at = :now,
                      attempts = attempts + 1, message_id = m.message_id,
                      failure_reason = NULL, updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:message_ids AS text[])) AS m(id, message_id)
    WHERE emails.id = m.id AND emails.status = {_SENDING} AND emails.claim_token = :token
""")

# sender_sent_by: which of these did this worker's `sent` reach? Asked on a fresh
# connection when the commit at the point of no return failed in flight, as its answer may
# simply be lost. One statement wrote them all, so it is all of them or none.
SENT_BY = text(f"""
    SELECT id FROM emails WHERE id = ANY(:ids) AND claim_token = :token AND status = {_SENT}
""")

# sender_record_outcome: a failed attempt, to retry (queued, wake_at = after the backoff) or
# to give up on (failed). From `sent` too: the server refused after the point of no return.
# Its event: `failed`, or `retry` when the attempt counts (`counted`, plus the one the
# `sent` commit counted already), `deferred` when it uses none (a sender-level deferral,
# an account that could not be reached).
RECORD_OUTCOME = text(recorded(f"""
    UPDATE emails e SET status = :status, wake_at = :wake_at, failure_reason = :reason,
                        sent_at = NULL, message_id = NULL,
                        finished_at = CASE WHEN :status = {_FAILED}
                                           THEN CAST(:now AS timestamptz) END,
                        attempts = attempts + :counted, updated_at = now()
    FROM (SELECT id, status FROM emails WHERE id = :id FOR UPDATE) AS was
    WHERE e.id = was.id AND e.claim_token = :token AND e.status IN ({_SENDING}, {_SENT})
    RETURNING e.id, e.user_id, e.batch_id, e.status, e.failure_reason,
              was.status = {_SENT} AS committed
""", f"""CASE WHEN status = {_FAILED} THEN 'failed'
              WHEN CAST(:counted AS integer) + CAST(committed AS integer) > 0 THEN 'retry'
              ELSE 'deferred' END""",
    Actor.WORKER, "failure_reason"))

# return_to_pump: emails that wait too long or were throttled too often go back to the
# ledger (their wake_at already says when), and the pump enqueues them afresh in time.
RETURN_TO_PUMP = text(f"""
    UPDATE emails SET status = {_SCHEDULED}, claim_token = NULL, updated_at = now()
    WHERE id = ANY(:ids) AND status = {_QUEUED}
""")

# recover_everything_in_flight: at a local start, before any worker runs, whatever a previous
# run left queued or sending can be in nobody's hands: all of it goes back to the pump, due
# when it was due (or now).
RECOVER_EVERYTHING_IN_FLIGHT = text(f"""
    UPDATE emails SET status = {_SCHEDULED}, claim_token = NULL,
                      wake_at = GREATEST(due_at, now())
    WHERE status IN ({_QUEUED}, {_SENDING})
""")

# limiter_seed_*: what a sender has used of a window and of a day (NULL: none asked), for
# a Redis that lost its keys. Served by ix_emails_sender_sent (sender_id, sent_at) WHERE
# status = 'sent'.
# One round trip, two scans that keep their own index plans: what the sender sent, and
# what it holds in `sending` (a slot each).
SEED = text(f"""
    SELECT sent.in_window, sent.in_day, sent.last,
           (SELECT count(*) FROM emails WHERE status = {_SENDING} AND sender_id = :sender_id)
           AS held
    FROM (SELECT count(*) FILTER (WHERE sent_at >= :window_start) AS in_window,
                 count(*) FILTER (WHERE sent_at >= CAST(:day_start AS timestamptz)) AS in_day,
                 max(sent_at) AS last
          FROM emails WHERE sender_id = :sender_id AND status = {_SENT}) AS sent
""")


def _claimed(row: Row[Any]) -> ClaimedEmail:
    values = dict(row._mapping)
    references = tuple(values.pop("refs") or ())
    del values["suppressed"]
    return ClaimedEmail(**values, references=references)


def _autocommit(engine: Engine) -> Connection:
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    # The pool's liveness ping (on a new connection, the session's setup) ran before
    # autocommit was on, in a transaction the driver still holds open: every statement
    # here would join it, and nothing would be committed until the connection went back.
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    dbapi_connection.commit()
    return connection


class Ledger(SenderLedger, PumpLedger, SeedSource, SenderHealthLedger, SmtpAccountSource):
    """The ports of the send path, over one engine: the pump's and the sender's calls, the
    limiter's seed, and the sender accounts' health."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._pin = threading.local()

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """The calls this thread makes inside share one connection in autocommit, checked
        out at the first of them. Nested uses share the outer one."""
        if getattr(self._pin, "active", False):
            yield
            return
        self._pin.active, self._pin.connection = True, None
        try:
            yield
        finally:
            connection: Connection | None = self._pin.connection
            self._pin.active, self._pin.connection = False, None
            if connection is not None:
                connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """For one statement: the pinned connection, or a transaction from the pool."""
        with wrap_db_errors():
            if not getattr(self._pin, "active", False):
                with self.engine.begin() as connection:
                    yield connection
                return
            if self._pin.connection is None:
                self._pin.connection = _autocommit(self.engine)
            try:
                yield self._pin.connection
            except BaseException:
                # Whatever failed, the next call starts afresh on another connection.
                connection, self._pin.connection = self._pin.connection, None
                connection.close()
                raise

    # --- pump -----------------------------------------------------------------------------
    def recover_lost(self, now: datetime, lost_after: timedelta) -> int:
        """Expired leases and lost messages back to the pump, in one transaction."""
        with self._transaction() as connection:
            leases = connection.execute(TAKE_BACK_EXPIRED_LEASES, {"now": now}).rowcount
            lost = connection.execute(TAKE_BACK_LOST_MESSAGES,
                                      {"now": now, "lost_before": now - lost_after}).rowcount
        return int(leases + lost)

    def recover_everything_in_flight(self) -> int:
        """Only while no worker runs: every queued or sending email back to the pump."""
        with self._transaction() as connection:
            return int(connection.execute(RECOVER_EVERYTHING_IN_FLIGHT).rowcount)

    def count_in_flight(self) -> int:
        with self._transaction() as connection:
            return int(connection.execute(COUNT_IN_FLIGHT).scalar_one())

    def claim_due(self, horizon_end: datetime, limit: int) -> list[DueEmail]:
        with self._transaction() as connection:
            rows = connection.execute(CLAIM_DUE, {"horizon_end": horizon_end, "limit": limit})
            return [build(DueEmail, row) for row in rows]

    # --- sender ---------------------------------------------------------------------------
    def look(self, ids: Sequence[uuid.UUID]) -> list[EmailState]:
        with self._transaction() as connection:
            return [build(EmailState, row)
                    for row in connection.execute(LOOK, {"ids": list(ids)})]

    def claim(self, ids: Sequence[uuid.UUID], lease_until: datetime,
                   token: uuid.UUID) -> list[ClaimedEmail]:
        """The named emails that were still `queued`, now `sending` under `token`."""
        with self._transaction() as connection:
            rows = connection.execute(CLAIM, {"ids": list(ids), "lease_until": lease_until,
                                              "token": token}).all()
            return ClaimedEmails([_claimed(row) for row in rows if row.id is not None],
                                 suppressed=int(rows[0].suppressed) if rows else 0)

    def return_to_queue(self, ids: Sequence[uuid.UUID], token: uuid.UUID,
                wake_at: datetime) -> list[uuid.UUID]:
        """Claimed emails back to `queued`, unsent; the ones that were still ours."""
        with self._transaction() as connection:
            rows = connection.execute(RETURN_TO_QUEUE, {"ids": list(ids), "token": token,
                                                "wake_at": wake_at})
            return [row.id for row in rows]

    def postpone(self, ids: Sequence[uuid.UUID], wake_at: datetime) -> None:
        if ids:
            with self._transaction() as connection:
                connection.execute(POSTPONE, {"ids": list(ids), "wake_at": wake_at})

    def mark_sent(self, sends: Sequence[tuple[uuid.UUID, str]], token: uuid.UUID,
                  now: datetime) -> set[uuid.UUID]:
        """Emails (id, Message-ID) now `sent` under `token`: the ones still claimed by it."""
        ids = [email_id for email_id, _ in sends]
        with self._transaction() as connection:
            marked = connection.execute(MARK_SENT, {
                "ids": ids, "message_ids": [message_id for _, message_id in sends],
                "token": token, "now": now}).rowcount
            if marked == len(ids):
                return set(ids)
            return {row.id for row in connection.execute(SENT_BY, {"ids": ids, "token": token})}

    def sent_by(self, ids: Sequence[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
        """The emails that read `sent` under `token`; raises when unreachable."""
        with wrap_db_errors(), self.engine.connect() as connection:
            rows = connection.execute(SENT_BY, {"ids": list(ids), "token": token})
            return {row.id for row in rows}

    def record_outcome(self, email_id: uuid.UUID, token: uuid.UUID, *, status: str,
                       wake_at: datetime, reason: str, now: datetime, counted: int) -> None:
        with self._transaction() as connection:
            connection.execute(RECORD_OUTCOME, {
                "id": email_id, "token": token, "status": status, "wake_at": wake_at,
                "reason": reason, "now": now, "counted": counted})

    def return_to_pump(self, ids: Sequence[uuid.UUID]) -> None:
        with self._transaction() as connection:
            connection.execute(RETURN_TO_PUMP, {"ids": list(ids)})

    # --- limiter seed ---------------------------------------------------------------------
    def seed(self, sender_id: str, window_start: datetime,
             day_start: datetime | None = None) -> Seed:
        with self._transaction() as connection:  # a sender's own: the message's connection
            found = connection.execute(SEED, {
                "sender_id": uuid.UUID(sender_id), "window_start": window_start,
                "day_start": day_start}).one()
        sent, sent_today, last, held = found.in_window, found.in_day, found.last, found.held
        last_ms = None if last is None else int(last.timestamp() * 1000)
        day_count = None if day_start is None else int(sent_today) + int(held)
        return Seed(count=int(sent) + int(held), last_send_ms=last_ms, day_count=day_count)

    # --- sender accounts (SenderHealthLedger, SmtpAccountSource) ------------------------
    def account_failed(self, sender_id: uuid.UUID, error: str,
                       failures_before_hold: int) -> bool:
        with self._transaction() as connection:
            return senders.account_failed(connection, sender_id, error, failures_before_hold)

    def account_worked(self, sender_id: uuid.UUID) -> None:
        with self._transaction() as connection:
            senders.account_worked(connection, sender_id)

    def hold_sender(self, sender_id: uuid.UUID, claimed: Sequence[uuid.UUID],
                    token: uuid.UUID) -> int:
        with self._transaction() as connection:
            return senders.hold_sender(connection, sender_id, claimed, token)

    def smtp_account(self, sender_id: uuid.UUID) -> SmtpAccount | None:
        with self._transaction() as connection:
            return senders.smtp_account(connection, sender_id)

"""Sender accounts: the rows behind /senders, the days of their caps, holding and releasing
their emails, and what a worker's mailer pool and health checks read and write.

Passwords arrive here only as CredentialCipher tokens; no statement returns one to a
route (the pool's SMTP_ACCOUNT reads the token for the sender function to decrypt).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from emailsched.adapters.db.events import recorded
from emailsched.domain.events import Actor
from emailsched.domain.model import PENDING_EMAIL_STATUSES, PLAN_COUNTED_STATUSES, sql_list
from emailsched.domain.senders import MailServer, Security, SenderLimits
from emailsched.errors import Conflict
from emailsched.ports import HeldEmail, SenderAccount, SmtpAccount

_COLUMNS = """
    id, user_id, email, name, kind, smtp_host, smtp_port, smtp_security, smtp_username,
    imap_host, imap_port, imap_security, imap_username, hourly_limit, daily_limit,
    min_delay_ms, timezone, status, last_error, created_at, updated_at,
    smtp_password_enc, imap_password_enc, oauth_refresh_token_enc, oauth_scopes,
    oauth_connected_at
"""
LIST_SENDERS = text(f"""
    SELECT {_COLUMNS} FROM senders WHERE user_id = :user_id AND deleted_at IS NULL
    ORDER BY created_at, email
""")
GET_SENDER = text(f"""
    SELECT {_COLUMNS} FROM senders
    WHERE id = :id AND user_id = :user_id AND deleted_at IS NULL
""")
GET_SENDER_FOR_UPDATE = text(f"{GET_SENDER.text} FOR UPDATE")
SENDER_BY_EMAIL = text(f"""
    SELECT {_COLUMNS} FROM senders
    WHERE user_id = :user_id AND email = :email AND deleted_at IS NULL FOR UPDATE
""")
# The writable columns, named so no value picks its own column.
WRITABLE = frozenset({
    "email", "name", "kind", "smtp_host", "smtp_port", "smtp_security", "smtp_username",
    "smtp_password_enc", "imap_host", "imap_port", "imap_security", "imap_username",
    "imap_password_enc", "hourly_limit", "daily_limit", "min_delay_ms", "timezone", "status",
    "last_error", "consecutive_failures", "oauth_refresh_token_enc", "oauth_scopes",
    "oauth_connected_at"})
DELETE_SENDER = text("""
    UPDATE senders SET deleted_at = now(), updated_at = now(),
                       smtp_password_enc = NULL, imap_password_enc = NULL,
                       oauth_refresh_token_enc = NULL
    WHERE id = :id
""")
# unsent_count: served by ix_emails_sender_status_due.
UNSENT_COUNT = text(f"""
    SELECT count(*) FROM emails
    WHERE sender_id = :id AND status IN ({sql_list(PENDING_EMAIL_STATUSES)})
""")
# sent_since: each sender's sends since its own day began (sentToday), served by
# ix_emails_sender_sent.
SENT_SINCE = text("""
    SELECT e.sender_id, count(*) FROM emails e
    JOIN unnest(CAST(:ids AS uuid[]), CAST(:since AS timestamptz[])) AS d(id, since)
      ON d.id = e.sender_id
    WHERE e.status = 'sent' AND e.sent_at >= d.since
    GROUP BY e.sender_id
""")
# sender_day_usage: the sends a sender planned or made per local day of its timezone, as
# SENDER_USAGE does per rate window; the day's start as epoch ms.
SENDER_DAY_USAGE = text(f"""
    SELECT (extract(epoch FROM date_trunc('day', COALESCE(sent_at, due_at) AT TIME ZONE :tz)
                    AT TIME ZONE :tz) * 1000)::bigint AS day_start,
           count(*)
    FROM emails
    WHERE sender_id = :sender_id AND status IN ({sql_list(PLAN_COUNTED_STATUSES)})
      AND (due_at >= :since OR sent_at >= :since)
    GROUP BY 1
""")
HELD_EMAILS = text("""
    SELECT e.id, e.batch_id, e.due_at, b.delay_ms, b.hourly_limit, b.status = 'paused',
           b.sending_window, b.random_delay_ms, b.plan_seed, e.fields->>'timezone'
    FROM emails e JOIN batches b ON b.id = e.batch_id
    WHERE e.sender_id = :sender_id AND e.status = 'held'
    ORDER BY e.due_at, e.seq
    FOR UPDATE OF e
""")
# release_held: held emails back with their new due times (paused ones wait for resume).
# Each batch's estimate becomes its last planned time again: the latest of the re-planned
# emails and its others (the outer statement sees the emails as they were before `moved`).
RELEASE_HELD = text("""
    WITH moved AS (
        UPDATE emails e SET status = :status, due_at = to_timestamp(r.due_ms / 1000.0),
                            wake_at = to_timestamp(r.due_ms / 1000.0), updated_at = now()
        FROM unnest(CAST(:ids AS uuid[]), CAST(:due_ms AS bigint[])) AS r(id, due_ms)
        WHERE e.id = r.id AND e.status = 'held'
        RETURNING e.id, e.user_id, e.batch_id, e.due_at
    ), noted AS (
        INSERT INTO email_events (email_id, user_id, batch_id, type, by)
        SELECT id, user_id, batch_id, 'released', 'api' FROM moved
    )
    UPDATE batches b SET updated_at = now(), estimated_end_time = GREATEST(m.last_due, (
        SELECT max(o.due_at) FROM emails o
        WHERE o.batch_id = b.id AND o.id <> ALL(CAST(:ids AS uuid[]))))
    FROM (SELECT batch_id, max(due_at) AS last_due FROM moved GROUP BY batch_id) m
    WHERE b.id = m.batch_id
""")
# account_failed: one more connection or login failure in a row; failing at the threshold.
# The old status comes back too, so only the change to failing holds the emails. A
# `reconnect:` error (an OAuth grant revoked, issue 25) fails it at once: no retry can help.
ACCOUNT_FAILED = text("""
    UPDATE senders s SET consecutive_failures = s.consecutive_failures + 1,
        last_error = :error, updated_at = now(),
        status = CASE WHEN s.consecutive_failures + 1 >= :threshold
                        OR :error LIKE 'reconnect:%' THEN 'failing'
                      ELSE s.status END
    FROM (SELECT id, status FROM senders WHERE id = :id FOR UPDATE) old
    WHERE s.id = old.id
    RETURNING old.status, s.status
""")
# account_worked: updated_at stays, so the pool keeps its connections.
ACCOUNT_WORKED = text("""
    UPDATE senders SET consecutive_failures = 0
    WHERE id = :id AND consecutive_failures > 0 AND status = 'active'
""")
# hold_sender: its unsent emails not in a worker's hands, and the ones this worker holds.
HOLD_SENDER = text(recorded("""
    UPDATE emails SET status = 'held', claim_token = NULL, updated_at = now()
    WHERE sender_id = :id AND (status IN ('scheduled', 'queued')
        OR (status = 'sending' AND claim_token = :token AND id = ANY(:claimed)))
    RETURNING id, user_id, batch_id
""", "'held'", Actor.WORKER, "'sender failing'"))
SENDER_LIMITS = text("""
    SELECT hourly_limit, daily_limit, min_delay_ms, timezone FROM senders WHERE id = :id
    FOR UPDATE
""")
SMTP_ACCOUNT = text("""
    SELECT id, smtp_host, smtp_port, smtp_security, smtp_username, smtp_password_enc,
           updated_at, kind
    FROM senders WHERE id = :id AND kind <> 'relay'
""")


def _server(host: Any, port: Any, security: Any, username: Any) -> MailServer | None:
    if host is None:
        return None
    return MailServer(host, int(port), Security(security), username or "")


def _account(row: Any) -> SenderAccount:
    return SenderAccount(
        id=row[0], user_id=row[1], email=row[2], name=row[3], kind=row[4],
        smtp=_server(*row[5:9]), imap=_server(*row[9:13]),
        limits=SenderLimits(row[13], row[14], row[15], row[16]), status=row[17],
        last_error=row[18], created_at=row[19], updated_at=row[20],
        smtp_password_enc=row[21], imap_password_enc=row[22],
        oauth_refresh_token_enc=row[23], oauth_scopes=row[24], oauth_connected_at=row[25])


def list_senders(c: Connection, user_id: uuid.UUID) -> list[SenderAccount]:
    return [_account(row) for row in c.execute(LIST_SENDERS, {"user_id": user_id})]


def get_sender(c: Connection, user_id: uuid.UUID, sender_id: uuid.UUID,
               lock: bool = False) -> SenderAccount | None:
    row = c.execute(GET_SENDER_FOR_UPDATE if lock else GET_SENDER,
                    {"id": sender_id, "user_id": user_id}).one_or_none()
    return None if row is None else _account(row)


def sender_by_email(c: Connection, user_id: uuid.UUID, email: str) -> SenderAccount | None:
    row = c.execute(SENDER_BY_EMAIL, {"user_id": user_id, "email": email}).one_or_none()
    return None if row is None else _account(row)


def _checked(values: dict[str, object]) -> dict[str, object]:
    unknown = set(values) - WRITABLE
    if unknown:
        raise ValueError(f"not sender columns: {sorted(unknown)}")
    return values


def insert_sender(c: Connection, sender_id: uuid.UUID, user_id: uuid.UUID,
                  values: dict[str, object]) -> None:
    names = sorted(_checked(values))
    statement = text(f"""
        INSERT INTO senders (id, user_id, {', '.join(names)})
        VALUES (:id, :user_id, {', '.join(':' + n for n in names)})
    """)
    try:
        with c.begin_nested():
            c.execute(statement, {"id": sender_id, "user_id": user_id, **values})
    except IntegrityError as error:
        if "uq_senders_user_email_live" in str(error.orig):
            raise Conflict("you already have a sender with that address", details=[
                {"field": "email", "message": "already a sender"}]) from None
        raise


def update_sender(c: Connection, sender_id: uuid.UUID, values: dict[str, object]) -> None:
    if not values:
        return
    sets = ", ".join(f"{n} = :{n}" for n in sorted(_checked(values)))
    c.execute(text(f"UPDATE senders SET {sets}, updated_at = clock_timestamp() WHERE id = :id"),
              {"id": sender_id, **values})


def delete_sender(c: Connection, sender_id: uuid.UUID) -> None:
    c.execute(DELETE_SENDER, {"id": sender_id})


def unsent_count(c: Connection, sender_id: uuid.UUID) -> int:
    return int(c.execute(UNSENT_COUNT, {"id": sender_id}).scalar_one())


def sent_since(c: Connection, sender_ids: Sequence[uuid.UUID],
               since: dict[uuid.UUID, datetime]) -> dict[uuid.UUID, int]:
    if not sender_ids:
        return {}
    rows = c.execute(SENT_SINCE, {"ids": list(sender_ids),
                                  "since": [since[i] for i in sender_ids]})
    return {row[0]: int(row[1]) for row in rows}


def sender_day_usage(c: Connection, sender_id: uuid.UUID, since: datetime,
                     timezone: str) -> dict[int, int]:
    rows = c.execute(SENDER_DAY_USAGE, {"sender_id": sender_id, "since": since,
                                        "tz": timezone})
    return {int(start): int(count) for start, count in rows}


def held_emails(c: Connection, sender_id: uuid.UUID) -> list[HeldEmail]:
    return [HeldEmail(row[0], row[1], row[2], int(row[3]), int(row[4]), bool(row[5]),
                      row[6], int(row[7]), int(row[8]), row[9])
            for row in c.execute(HELD_EMAILS, {"sender_id": sender_id})]


def release_held(c: Connection, ids: list[uuid.UUID], due_ms: list[int], status: str) -> None:
    if ids:
        c.execute(RELEASE_HELD, {"ids": ids, "due_ms": due_ms, "status": status})


def account_failed(c: Connection, sender_id: uuid.UUID, error: str, threshold: int) -> bool:
    """True when the sender's emails are to be held now: it just turned failing, or its
    grant is revoked (`reconnect:`), when every worker that finds so holds its own."""
    row = c.execute(ACCOUNT_FAILED, {"id": sender_id, "error": error[:1000],
                                     "threshold": threshold}).one_or_none()
    if row is None or row[1] != "failing":
        return False
    return row[0] != "failing" or error.startswith("reconnect:")


def account_worked(c: Connection, sender_id: uuid.UUID) -> None:
    c.execute(ACCOUNT_WORKED, {"id": sender_id})


def hold_sender(c: Connection, sender_id: uuid.UUID, claimed: Sequence[uuid.UUID],
                token: uuid.UUID) -> int:
    return int(c.execute(HOLD_SENDER, {"id": sender_id, "claimed": list(claimed),
                                       "token": token}).rowcount)


def smtp_account(c: Connection, sender_id: uuid.UUID) -> SmtpAccount | None:
    row = c.execute(SMTP_ACCOUNT, {"id": sender_id}).one_or_none()
    if row is None:
        return None
    return SmtpAccount(row[0], row[1], int(row[2]), row[3], row[4] or "", row[5], row[6],
                       row[7])



def sender_limits(c: Connection, sender_id: uuid.UUID) -> SenderLimits:
    """The sender's own limits, its row locked (planning its sends is serialised)."""
    row = c.execute(SENDER_LIMITS, {"id": sender_id}).one()
    return SenderLimits(row[0], row[1], row[2], row[3])

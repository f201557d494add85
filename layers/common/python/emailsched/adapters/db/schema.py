"""Tables of the ledger. Alembic migrations (emailsched/migrations) create exactly these;
a test compares the migrated database with this metadata so they cannot drift.

Subject and body live on the batch, not on each of its (up to 100,000) emails.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from emailsched.domain.model import (
    OUTCOME_EMAIL_STATUSES,
    PENDING_EMAIL_STATUSES,
    EmailStatus,
    sql_list,
)

metadata = MetaData()

EMAIL_STATUSES = f"({sql_list(EmailStatus)})"
BATCH_STATUSES = "('active','paused','cancelled')"
PENDING = f"({sql_list(PENDING_EMAIL_STATUSES)})"


def _timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


SECURITIES = "('none','starttls','tls')"


def _mail_account(prefix: str) -> list[Column]:
    """host, port, security, username and the encrypted password (a CredentialCipher token,
    never the password itself) of a sender's SMTP or IMAP account."""
    return [Column(f"{prefix}_host", Text, nullable=True),
            Column(f"{prefix}_port", Integer, nullable=True),
            Column(f"{prefix}_security", Text, nullable=True),
            Column(f"{prefix}_username", Text, nullable=True),
            Column(f"{prefix}_password_enc", Text, nullable=True)]


def _uuid_pk() -> Column:
    return Column("id", UUID(as_uuid=True), primary_key=True,
                  server_default=text("gen_random_uuid()"))


users = Table(
    "users", metadata,
    _uuid_pk(),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("avatar", Text, nullable=True),
    Column("google_sub", Text, nullable=True, unique=True),
    *_timestamps(),
)

senders = Table(
    "senders", metadata,
    _uuid_pk(),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
           nullable=False),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False, server_default=""),
    # A mailbox (migration 0003): `smtp` with its own account, or `relay` through SMTP_*.
    Column("kind", Text, nullable=False, server_default="relay"),
    *_mail_account("smtp"), *_mail_account("imap"),
    Column("hourly_limit", Integer, nullable=True),  # null: no cap of its own
    Column("daily_limit", Integer, nullable=True),  # per calendar day in `timezone`
    Column("min_delay_ms", Integer, nullable=True),  # null: MIN_DELAY_BETWEEN_EMAILS_MS
    Column("timezone", Text, nullable=False, server_default="UTC"),
    Column("status", Text, nullable=False, server_default="active"),
    Column("last_error", Text, nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    *_timestamps(),
    UniqueConstraint("user_id", "email", name="uq_senders_user_email"),
    CheckConstraint("kind IN ('smtp','relay')", name="ck_senders_kind"),
    CheckConstraint("status IN ('active','failing')", name="ck_senders_status"),
    CheckConstraint("kind = 'relay' OR (smtp_host IS NOT NULL AND smtp_port IS NOT NULL AND "
                    "smtp_security IS NOT NULL)", name="ck_senders_smtp_account"),
    CheckConstraint(f"(smtp_security IS NULL OR smtp_security IN {SECURITIES}) AND "
                    f"(imap_security IS NULL OR imap_security IN {SECURITIES})",
                    name="ck_senders_security"),
    CheckConstraint("(hourly_limit IS NULL OR hourly_limit > 0) AND "
                    "(daily_limit IS NULL OR daily_limit > 0) AND "
                    "(min_delay_ms IS NULL OR min_delay_ms >= 0)", name="ck_senders_limits"),
)

batches = Table(
    "batches", metadata,
    _uuid_pk(),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
           nullable=False),
    Column("sender_id", UUID(as_uuid=True), ForeignKey("senders.id"), nullable=False),
    # The From name this batch was scheduled with; the sender row keeps only the latest.
    Column("sender_name", Text, nullable=False, server_default=""),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("delay_ms", BigInteger, nullable=False),
    Column("hourly_limit", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("email_count", Integer, nullable=False),
    Column("duplicates_removed", Integer, nullable=False, server_default="0"),
    Column("estimated_end_time", DateTime(timezone=True), nullable=False),
    *_timestamps(),
    CheckConstraint(f"status IN {BATCH_STATUSES}", name="ck_batches_status"),
    CheckConstraint("hourly_limit > 0 AND delay_ms >= 0", name="ck_batches_limits"),
    # Serves GET /batches: a user's batches, newest first.
    Index("ix_batches_user_created", "user_id", "created_at"),
)

emails = Table(
    "emails", metadata,
    _uuid_pk(),
    Column("batch_id", UUID(as_uuid=True), ForeignKey("batches.id", ondelete="CASCADE"),
           nullable=False),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
           nullable=False),
    Column("sender_id", UUID(as_uuid=True), ForeignKey("senders.id"), nullable=False),
    Column("seq", Integer, nullable=False),  # position in the batch, after de-duplication
    Column("recipient_email", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),  # the planned send time
    # When the email next needs attention: for `scheduled`, when it may be enqueued; for
    # `queued`, when its message should arrive; for `sending`, when the worker's lease ends.
    Column("wake_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="scheduled"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),  # sent or failed
    Column("failure_reason", Text, nullable=True),
    Column("message_id", Text, nullable=True),
    # Fences a worker's hold on a `sending` email: its outcome is written only while the
    # token is still the one it claimed with, so a worker whose lease ran out writes nothing.
    Column("claim_token", UUID(as_uuid=True), nullable=True),
    *_timestamps(),
    UniqueConstraint("batch_id", "recipient_email", name="uq_emails_batch_recipient"),
    CheckConstraint(f"status IN {EMAIL_STATUSES}", name="ck_emails_status"),
    # The pump's claim (scheduled by wake_at), lost-message recovery (queued by wake_at)
    # and lease recovery (sending by wake_at): equality on status, range on wake_at.
    Index("ix_emails_status_wake", "status", "wake_at"),
    # Batch progress and pause/resume/cancel: a batch's emails by status, in order.
    Index("ix_emails_batch_status_seq", "batch_id", "status", "seq"),
    # GET /emails/scheduled: a user's pending emails, soonest first.
    Index("ix_emails_user_pending_due", "user_id", "due_at",
          postgresql_where=text(f"status IN {PENDING}")),
    # GET /emails/sent and the per-hour chart: a user's finished emails, newest first.
    Index("ix_emails_user_finished", "user_id", "finished_at",
          postgresql_where=text(f"status IN ({sql_list(OUTCOME_EMAIL_STATUSES)})")),
    # The plan (a sender's planned sends per window) and the limiter's seed after a Redis
    # restart (a sender's sends since a window began).
    Index("ix_emails_sender_due", "sender_id", "due_at"),
    # GET /emails/stats: a user's emails counted by status.
    Index("ix_emails_user_status", "user_id", "status"),
    Index("ix_emails_sender_sent", "sender_id", "sent_at",
          postgresql_where=text("status = 'sent'")),
)

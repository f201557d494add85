"""Tables of the ledger. Alembic migrations (emailsched/migrations) create exactly these;
a test compares the migrated database with this metadata so they cannot drift.

Subject and body live on the batch, not on each of its (up to 100,000) emails.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

from emailsched.domain.model import (
    OUTCOME_EMAIL_STATUSES,
    PENDING_EMAIL_STATUSES,
    EmailStatus,
    sql_list,
)

metadata = MetaData()

EMAIL_STATUSES = f"({sql_list(EmailStatus)})"
BATCH_STATUSES = "('active','paused','cancelled')"
SUPPRESSION_REASONS = "('unsubscribed','hard_bounce','complaint','manual')"
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
    # Shown in the unsubscribe footer (CAN-SPAM), migration 0005.
    Column("postal_address", Text, nullable=True),
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
    # Policy refusals (5.7.x) of its sends, migration 0005: a sign of its reputation.
    Column("policy_blocks", Integer, nullable=False, server_default="0"),
    # Complaints (ARF, JMRP) against its mail, migration 0013.
    Column("complaints", Integer, nullable=False, server_default="0"),
    # When the reply poller last read its mailbox (migration 0006): round-robin order.
    Column("replies_polled_at", DateTime(timezone=True), nullable=True),
    # Deleted (migration 0004): the row stays for the emails and batches that name it.
    Column("deleted_at", DateTime(timezone=True), nullable=True),
    # Kinds `google` and `microsoft` (migration 0014): a CredentialCipher token, never the
    # refresh token itself, and what the consent granted.
    Column("oauth_refresh_token_enc", Text, nullable=True),
    Column("oauth_scopes", Text, nullable=True),
    Column("oauth_connected_at", DateTime(timezone=True), nullable=True),
    *_timestamps(),
    Index("uq_senders_user_email_live", "user_id", "email", unique=True,
          postgresql_where=text("deleted_at IS NULL")),
    CheckConstraint("kind IN ('smtp','relay','google','microsoft')", name="ck_senders_kind"),
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

# Consents under way (migration 0014): keyed by the SHA-256 of the `state`, taken (deleted)
# by the callback, so a state works once and only until `expires_at`.
oauth_states = Table(
    "oauth_states", metadata,
    Column("state_hash", Text, primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
           nullable=False),
    Column("provider", Text, nullable=False),
    Column("options", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
    # Migration 0005: recipients dropped as suppressed when scheduled; why the batch paused
    # itself ("bounce_rate"); whether subject and body are merge-field templates (batches
    # stored before 0005 are sent as written).
    Column("suppressed_removed", Integer, nullable=False, server_default="0"),
    Column("paused_reason", Text, nullable=True),
    Column("templated", Boolean, nullable=False, server_default=false()),
    # Migration 0007: the sending window (SendingWindow.to_api(); null: any time), the
    # random extra delay per gap and the seed its draws come from (resume re-plans with it).
    Column("sending_window", JSONB, nullable=True),
    Column("random_delay_ms", BigInteger, nullable=False, server_default="0"),
    Column("plan_seed", BigInteger, nullable=False, server_default="0"),
    # Follow-up steps (migration 0006): [{subject?, body, waitSeconds}], NULL for none.
    Column("steps", JSONB, nullable=True),
    # Open and click tracking (migration 0019): {opens, clicks}, NULL for neither.
    Column("tracking", JSONB, nullable=True),
    *_timestamps(),
    CheckConstraint(f"status IN {BATCH_STATUSES}", name="ck_batches_status"),
    CheckConstraint("hourly_limit > 0 AND delay_ms >= 0", name="ck_batches_limits"),
    CheckConstraint("random_delay_ms >= 0", name="ck_batches_random_delay"),
    # Serves GET /batches: a user's batches, newest first.
    Index("ix_batches_user_created", "user_id", "created_at"),
)

# The senders a batch rotates over (migration 0004): recipient i goes to position i mod n.
batch_senders = Table(
    "batch_senders", metadata,
    Column("batch_id", UUID(as_uuid=True), ForeignKey("batches.id", ondelete="CASCADE"),
           primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("sender_id", UUID(as_uuid=True), ForeignKey("senders.id"), nullable=False),
    Column("email_count", Integer, nullable=False),
    Column("estimated_end_time", DateTime(timezone=True), nullable=False),
)

# A user's suppression list (migration 0005): addresses in lower case, never sent to.
suppressions = Table(
    "suppressions", metadata,
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
           primary_key=True),
    Column("email", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"reason IN {SUPPRESSION_REASONS}", name="ck_suppressions_reason"),
    Index("ix_suppressions_user_created", "user_id", "created_at"),
)

emails = Table(
    "emails", metadata,
    _uuid_pk(),
    # No foreign keys (migration 0011: a check per row cost an import more than all the
    # indexes): every email is written with a batch and a sender its transaction holds,
    # and a trigger on batches deletes a deleted batch's emails (ON DELETE CASCADE's job).
    Column("batch_id", UUID(as_uuid=True), nullable=False),
    # Always the batch's user (migration 0010): a user's deletion reaches emails through
    # batches.
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("sender_id", UUID(as_uuid=True), nullable=False),
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
    # The recipient's merge fields (migration 0005), stored once: subject and body are
    # rendered from the batch's templates at send time. NULL: none.
    Column("fields", JSONB, nullable=True),
    Column("bounce_class", Text, nullable=True),  # domain.bounces.BounceClass of a failure
    # Sequences (migration 0006): 1 for the first email, k for follow-up k; and whether a
    # later step is still to be planned once this one is sent (the follow-up planner's
    # work list, ix_emails_awaiting_next).
    Column("step", Integer, nullable=False, server_default="1"),
    Column("awaiting_next", Boolean, nullable=False, server_default=false()),
    # When the recipient reported it as spam (migration 0013).
    Column("complained_at", DateTime(timezone=True), nullable=True),
    # The inbox (migration 0018): `reply` for an answer written in the product, with its own
    # subject, body and thread references (NULL for every other email). A reply's step is
    # 0 minus its number in the thread: no statement about follow-ups (step > 1) sees it.
    Column("kind", Text, nullable=False, server_default="email"),
    Column("subject", Text, nullable=True),
    Column("body", Text, nullable=True),
    Column("refs", ARRAY(Text), nullable=True),
    *_timestamps(),
    # One email per recipient and step: concurrent planners cannot create a step twice.
    UniqueConstraint("batch_id", "recipient_email", "step",
                     name="uq_emails_batch_recipient_step"),
    CheckConstraint(f"status IN {EMAIL_STATUSES}", name="ck_emails_status"),
    CheckConstraint("kind IN ('email','reply')", name="ck_emails_kind"),
    # The pump's claim (scheduled by wake_at), lost-message recovery (queued by wake_at)
    # and lease recovery (sending by wake_at): equality on status, range on wake_at.
    Index("ix_emails_status_wake", "status", "wake_at"),
    # Batch progress and pause/resume/cancel: a batch's emails by status, in order.
    Index("ix_emails_batch_status_seq", "batch_id", "status", "seq"),
    # GET /emails/scheduled: a user's pending emails, soonest first, in the ORDER BY's
    # own order (due_at, seq: the page needs no sort at any size; migration 0008).
    Index("ix_emails_user_pending_due", "user_id", "due_at", "seq",
          postgresql_where=text(f"status IN {PENDING}")),
    # GET /emails/sent (finished_at DESC, seq DESC: read backwards) and the per-hour chart
    # and last-hour count, index-only thanks to the trailing status (migration 0008).
    Index("ix_emails_user_finished", "user_id", "finished_at", "seq", "status",
          postgresql_where=text(f"status IN ({sql_list(OUTCOME_EMAIL_STATUSES)})")),
    # The plan (a sender's planned sends per window, by the statuses it counts), holding,
    # releasing and counting a sender's emails, refusing to delete one with unsent mail
    # (migration 0011: one index where (sender_id, due_at) and (sender_id, status) were).
    Index("ix_emails_sender_status_due", "sender_id", "status", "due_at"),
    # GET /emails/stats: a user's emails counted by status.
    Index("ix_emails_user_status", "user_id", "status"),
    # A batch's hard bounces, counted after each one (its bounce rate), migration 0005.
    Index("ix_emails_batch_hard_bounce", "batch_id",
          postgresql_where=text("bounce_class = 'hard_bounce'")),
    # A batch's complaints, and a sender's among its last sends (migration 0013); both hold
    # complained emails only, which are few.
    Index("ix_emails_batch_complained", "batch_id",
          postgresql_where=text("complained_at IS NOT NULL")),
    Index("ix_emails_sender_complained", "sender_id", "sent_at",
          postgresql_where=text("complained_at IS NOT NULL")),
    # A report naming no Message-ID of ours, matched by its failed recipient among the
    # sender's sent emails (migration 0013).
    Index("ix_emails_sender_recipient", "sender_id", text("lower(recipient_email)"), "sent_at",
          postgresql_where=text("sent_at IS NOT NULL")),
    Index("ix_emails_sender_sent", "sender_id", "sent_at",
          postgresql_where=text("status = 'sent'")),
    # The reply poller's match of In-Reply-To / References against our Message-IDs.
    Index("ix_emails_message_id", "message_id", postgresql_where=text("message_id IS NOT NULL")),
    # The follow-up planner: sent emails whose next step is not planned yet, oldest first.
    Index("ix_emails_awaiting_next", "sent_at",
          postgresql_where=text("awaiting_next AND status = 'sent'")),
)

# lead_status (migration 0018): the user set a lead status that ends the conversation.
STOP_REASONS = "('replied','unsubscribed','hard_bounce','complaint','lead_status')"

# A recipient whose sequence in a batch ended (migration 0006): no later step is planned,
# claimed or sent for them.
sequence_stops = Table(
    "sequence_stops", metadata,
    Column("batch_id", UUID(as_uuid=True), ForeignKey("batches.id", ondelete="CASCADE"),
           primary_key=True),
    Column("recipient_email", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("email_id", UUID(as_uuid=True), nullable=True),  # the email replied to / bounced
    Column("stopped_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"reason IN {STOP_REASONS}", name="ck_sequence_stops_reason"),
)

# What happened to each email (migration 0012): a row per event the email row does not hold
# itself, written by the statement that made it happen (adapters/db/events.py).
# domain/events.py derives the rest when read.
email_events = Table(
    "email_events", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    # No foreign keys, as on emails (migration 0012 says why).
    Column("email_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("batch_id", UUID(as_uuid=True), nullable=False),
    Column("type", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("by", Text, nullable=False),
    Column("detail", JSONB, nullable=True),
    # GET /emails/{id}: an email's events in the order they were written.
    Index("ix_email_events_email", "email_id", "id"),
    # A batch's events by type (analytics), and deleting them with the batch.
    Index("ix_email_events_batch", "batch_id", "type"),
)

# Inbound messages already counted (migration 0006): one reply or bounce per (email,
# inbound Message-ID), so a mailbox read twice counts nothing twice.
inbound_events = Table(
    "inbound_events", metadata,
    Column("email_id", UUID(as_uuid=True), ForeignKey("emails.id", ondelete="CASCADE"),
           primary_key=True),
    Column("inbound_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Soft bounces of one address in a row, per user (migration 0013): at
# SOFT_BOUNCES_BEFORE_SUPPRESS the address is suppressed; a reply from it ends the streak.
bounce_streaks = Table(
    "bounce_streaks", metadata,
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
           primary_key=True),
    Column("email", Text, primary_key=True),  # lower case, as suppressions keep it
    Column("soft_bounces", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

LEAD_STATUSES = ("('new','replied','interested','not_interested','meeting_booked',"
                 "'out_of_office','wrong_person','unsubscribed','bounced','closed')")

# The inbox (migration 0018): a thread per lead (one recipient of one batch), created when
# the poller first matches a message to them. `resume_at`: an away lead's follow-ups wait
# until then (the follow-up planner reads it).
inbox_threads = Table(
    "inbox_threads", metadata,
    _uuid_pk(),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("batch_id", UUID(as_uuid=True), ForeignKey("batches.id", ondelete="CASCADE"),
           nullable=False),
    Column("recipient_email", Text, nullable=False),
    Column("sender_id", UUID(as_uuid=True), nullable=False),
    Column("lead_status", Text, nullable=False, server_default="new"),
    Column("lead_status_by", Text, nullable=True),
    Column("lead_status_at", DateTime(timezone=True), nullable=True),
    Column("unread", Boolean, nullable=False, server_default=false()),
    Column("last_message_at", DateTime(timezone=True), nullable=True),
    Column("inbound_count", Integer, nullable=False, server_default="0"),
    Column("snippet", Text, nullable=False, server_default=""),
    Column("resume_at", DateTime(timezone=True), nullable=True),
    # The lead's address and its parts, the campaign's subject, every kept message's
    # addresses, subject and text: GET /inbox?q (GIN).
    Column("search", TSVECTOR, nullable=False, server_default=text("''::tsvector")),
    *_timestamps(),
    UniqueConstraint("batch_id", "recipient_email", name="uq_inbox_threads_lead"),
    CheckConstraint(f"lead_status IN {LEAD_STATUSES}", name="ck_inbox_threads_status"),
    # GET /inbox: a user's threads with an inbound message, latest activity first.
    # (the filters' columns included: a filtered total is counted from the index alone).
    Index("ix_inbox_threads_user_activity", "user_id", "last_message_at",
          postgresql_include=["unread", "lead_status", "sender_id", "batch_id"],
          postgresql_where=text("inbound_count > 0")),
    Index("ix_inbox_threads_search", "search", postgresql_using="gin"),
    # The unread count in the navigation and a status's total, from small indexes alone.
    Index("ix_inbox_threads_user_unread", "user_id",
          postgresql_where=text("unread AND inbound_count > 0")),
    Index("ix_inbox_threads_user_status", "user_id", "lead_status",
          postgresql_where=text("inbound_count > 0")),
)

# Inbound messages matched to a thread (migration 0018): one per (thread, inbound
# Message-ID), so a mailbox read twice stores nothing twice. Attachments are listed
# ({name, size, contentType}), their content is not stored.
inbox_messages = Table(
    "inbox_messages", metadata,
    _uuid_pk(),
    Column("thread_id", UUID(as_uuid=True), ForeignKey("inbox_threads.id", ondelete="CASCADE"),
           nullable=False),
    Column("email_id", UUID(as_uuid=True), nullable=True),  # ours that it answers
    Column("inbound_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("from_address", Text, nullable=False, server_default=""),
    Column("to_address", Text, nullable=False, server_default=""),
    Column("subject", Text, nullable=False, server_default=""),
    Column("text", Text, nullable=False, server_default=""),
    Column("html", Text, nullable=True),  # sanitised (domain/inbox/content.py)
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("attachments", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("thread_id", "inbound_id", name="uq_inbox_messages_inbound"),
    CheckConstraint("kind IN ('reply','auto_reply','bounce')", name="ck_inbox_messages_kind"),
)

# Where the reply poller stopped reading a sender's folder (migration 0006).
mailbox_checkpoints = Table(
    "mailbox_checkpoints", metadata,
    Column("sender_id", UUID(as_uuid=True), ForeignKey("senders.id", ondelete="CASCADE"),
           primary_key=True),
    Column("folder", Text, primary_key=True),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Big lists (issue 17, migration 0009): a CSV uploaded to S3 and read by the import job.
IMPORT_STATUSES = "('uploading','importing','done','failed')"
imports = Table(
    "imports", metadata,
    _uuid_pk(),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
           nullable=False),
    Column("status", Text, nullable=False, server_default="uploading"),
    Column("object_key", Text, nullable=False),
    # rows = valid + invalid + duplicates + suppressed (data rows; blank lines not counted)
    Column("rows", Integer, nullable=False, server_default="0"),
    Column("valid", Integer, nullable=False, server_default="0"),
    Column("invalid", Integer, nullable=False, server_default="0"),
    Column("duplicates", Integer, nullable=False, server_default="0"),
    Column("suppressed", Integer, nullable=False, server_default="0"),
    Column("errors", JSONB, nullable=False, server_default=text("'[]'::jsonb")),  # first 100
    # The schedule request (validated when it was made) the batch is built from at the end.
    Column("request", JSONB, nullable=True),
    # Where the next invocation goes on: byte offset, line, CSV layout, planner states.
    Column("checkpoint", JSONB, nullable=True),
    # Reserved when scheduled; the batch row itself exists only once the import is done.
    Column("batch_id", UUID(as_uuid=True), nullable=True),
    *_timestamps(),
    CheckConstraint(f"status IN {IMPORT_STATUSES}", name="ck_imports_status"),
    Index("ix_imports_user_created", "user_id", "created_at"),
)

# The rows of an import in progress, planned, waiting for the import's last step to move
# them into emails in one statement with the batch. No index and no foreign key: COPY
# appends and the rows live minutes; the job deletes them when it ends either way.
# UNLOGGED (migration 0010): no WAL for staged rows; a crash loses them, and the last step
# then fails the import (it moves fewer rows than were counted valid).
import_rows = Table(
    "import_rows", metadata,
    Column("import_id", UUID(as_uuid=True), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sender_index", Integer, nullable=False),  # position in the batch's rotation
    Column("email_id", UUID(as_uuid=True), nullable=False),  # time-ordered (uuid7)
    Column("recipient_email", Text, nullable=False),
    Column("due_ms", BigInteger, nullable=False),
    Column("fields", JSONB, nullable=True),
    prefixes=["UNLOGGED"],
)

# Sender domain health (issue 29, migration 0015): the DKIM selector the user named and the
# last check of the sender's domain, refreshed daily (the oldest first: ix_..._checked).
# A sender without a row has never been checked.
sender_domain_checks = Table(
    "sender_domain_checks", metadata,
    Column("sender_id", UUID(as_uuid=True), ForeignKey("senders.id", ondelete="CASCADE"),
           primary_key=True),
    Column("dkim_selector", Text, nullable=True),
    Column("report", JSONB, nullable=True),
    Column("checked_at", DateTime(timezone=True), nullable=True),
    Index("ix_sender_domain_checks_checked", "checked_at"),
)

# API keys and webhooks (migration 0017; adapters/db/api_keys.py, webhooks.py).
def _user_fk() -> Column:
    return Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False)


api_keys = Table(
    "api_keys", metadata,
    _uuid_pk(), _user_fk(),
    Column("name", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("key_hash", LargeBinary, nullable=False, unique=True),  # SHA-256 of the key
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    *_timestamps(),
    Index("ix_api_keys_user", "user_id", "created_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints", metadata,
    _uuid_pk(), _user_fk(),
    Column("url", Text, nullable=False),
    Column("events", ARRAY(Text), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("status", Text, nullable=False, server_default="enabled"),
    Column("disabled_reason", Text, nullable=True),
    Column("secret_enc", Text, nullable=False),  # the credentials cipher's token
    Column("failing_since", DateTime(timezone=True), nullable=True),
    *_timestamps(),
    CheckConstraint("status IN ('enabled', 'disabled')", name="ck_webhook_endpoints_status"),
    Index("ix_webhook_endpoints_user", "user_id", "created_at"),
)

# A dispatcher delivers an endpoint's messages while it holds that endpoint's row here.
webhook_claims = Table(
    "webhook_claims", metadata,
    Column("endpoint_id", UUID(as_uuid=True),
           ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True),
)

# The outbox: one row per event and subscribed endpoint, written by triggers.
webhook_messages = Table(
    "webhook_messages", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("endpoint_id", UUID(as_uuid=True),
           ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", Text, nullable=False),  # webhook-id, the same on every attempt
    Column("type", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False,
           server_default=func.clock_timestamp()),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("failures", Integer, nullable=False, server_default="0"),  # since last queued
    Column("next_attempt_at", DateTime(timezone=True), nullable=False,
           server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_messages_event"),
    CheckConstraint("state IN ('pending', 'delivered', 'failed')",
                    name="ck_webhook_messages_state"),
    Index("ix_webhook_messages_pending", "endpoint_id", "id",
          postgresql_where=text("state = 'pending'")),
)

webhook_attempts = Table(
    "webhook_attempts", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("message_id", BigInteger, ForeignKey("webhook_messages.id", ondelete="CASCADE"),
           nullable=False),
    Column("endpoint_id", UUID(as_uuid=True), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("response_body", Text, nullable=True),  # its first KiB
    Column("duration_ms", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
    Index("ix_webhook_attempts_message", "message_id"),
)

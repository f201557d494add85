"""API keys and outgoing webhooks (issue 28): a transactional outbox.

- api_keys: a key is stored only as the SHA-256 of its 240 random bits (a slow hash buys
  nothing against a key that cannot be guessed); deleting the row revokes it at once.
- webhook_endpoints: a user's subscriptions; the signing secret is stored encrypted with
  the credentials cipher (it must be shown on demand and used to sign).
- webhook_messages: the outbox, one row per (event, subscribed endpoint), written by
  triggers in the transaction that made the change: from email_events (failed, bounced,
  reply received, unsubscribed, opened, clicked), from the point of no return of a
  send (status becomes `sent`) and from a sender turning `failing`. The email triggers
  look for a subscribed endpoint first: a user with none writes nothing more. The one on
  emails fires only for UPDATEs that set sent_at (the point of no return, a refusal after
  it): the pump's and the sender's claims skip it without testing its WHEN per row.
- webhook_attempts: the delivery log.
- webhook_claims: one row per endpoint that a dispatcher locks (FOR UPDATE SKIP LOCKED)
  while it delivers that endpoint's due messages in order: two dispatchers never send one
  attempt twice, and a dispatcher that dies releases its claim with its connection.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

FAN_OUT = """
CREATE FUNCTION webhook_fan_out(p_user uuid, p_type text, p_data jsonb, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_event text := 'msg_' || replace(gen_random_uuid()::text, '-', '');
BEGIN
    INSERT INTO webhook_messages (endpoint_id, event_id, type, data, occurred_at)
    SELECT e.id, v_event, p_type, p_data, p_at FROM webhook_endpoints e
    WHERE e.user_id = p_user AND e.status = 'enabled' AND p_type = ANY(e.events);
END $$
"""

# email_events types that webhooks deliver, and their webhook names.
EMAIL_EVENT = """
CREATE FUNCTION webhook_email_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := CASE NEW.type
        WHEN 'failed' THEN 'email.failed' WHEN 'bounced' THEN 'email.bounced'
        WHEN 'opened' THEN 'email.opened' WHEN 'clicked' THEN 'email.clicked'
        WHEN 'reply_received' THEN 'reply.received'
        WHEN 'unsubscribed' THEN 'recipient.unsubscribed' END;
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE user_id = NEW.user_id
               AND status = 'enabled' AND kind = ANY(events)) THEN
        PERFORM webhook_fan_out(NEW.user_id, kind, (
            SELECT jsonb_strip_nulls(jsonb_build_object(
                'emailId', e.id, 'batchId', e.batch_id, 'senderId', e.sender_id,
                'recipient', e.recipient_email, 'step', e.step, 'status', e.status,
                'by', NEW."by", 'detail', NEW.detail))
            FROM emails e WHERE e.id = NEW.email_id), NEW.at);
    END IF;
    RETURN NULL;
END $$
"""

EMAIL_SENT = """
CREATE FUNCTION webhook_email_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE user_id = NEW.user_id
               AND status = 'enabled' AND 'email.sent' = ANY(events)) THEN
        PERFORM webhook_fan_out(NEW.user_id, 'email.sent', jsonb_strip_nulls(jsonb_build_object(
            'emailId', NEW.id, 'batchId', NEW.batch_id, 'senderId', NEW.sender_id,
            'recipient', NEW.recipient_email, 'step', NEW.step, 'messageId', NEW.message_id,
            'attempts', NEW.attempts)), COALESCE(NEW.sent_at, clock_timestamp()));
    END IF;
    RETURN NULL;
END $$
"""

# A sender turning `failing` (connection or login failures in a row, adapters/db/senders).
SENDER_FAILING = """
CREATE FUNCTION webhook_sender_failing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_fan_out(NEW.user_id, 'sender.failing', jsonb_strip_nulls(jsonb_build_object(
        'senderId', NEW.id, 'email', NEW.email, 'lastError', NEW.last_error,
        'consecutiveFailures', NEW.consecutive_failures)), clock_timestamp());
    RETURN NULL;
END $$
"""


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.func.now()),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.func.now())]


def _user() -> sa.Column:
    return sa.Column("user_id", UUID(as_uuid=True),
                     sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def _uuid_pk() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True,
                     server_default=sa.text("gen_random_uuid()"))


def upgrade() -> None:
    op.create_table(
        "api_keys", _uuid_pk(), _user(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        sa.Column("key_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps())
    op.create_index("ix_api_keys_user", "api_keys", ["user_id", "created_at"])
    op.create_table(
        "webhook_endpoints", _uuid_pk(), _user(),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", ARRAY(sa.Text), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="enabled"),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("status IN ('enabled', 'disabled')",
                           name="ck_webhook_endpoints_status"))
    op.create_index("ix_webhook_endpoints_user", "webhook_endpoints", ["user_id", "created_at"])
    op.create_table(
        "webhook_claims",
        sa.Column("endpoint_id", UUID(as_uuid=True),
                  sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True))
    op.create_table(
        "webhook_messages",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("endpoint_id", UUID(as_uuid=True),
                  sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.clock_timestamp()),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_messages_event"),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'failed')",
                           name="ck_webhook_messages_state"))
    op.create_index("ix_webhook_messages_pending", "webhook_messages",
                    ["endpoint_id", "id"], postgresql_where=sa.text("state = 'pending'"))
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("message_id", sa.BigInteger,
                  sa.ForeignKey("webhook_messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("endpoint_id", UUID(as_uuid=True), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("response_body", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_webhook_attempts_endpoint", "webhook_attempts", ["endpoint_id", "id"])
    op.create_index("ix_webhook_attempts_message", "webhook_attempts", ["message_id"])
    for function in (FAN_OUT, EMAIL_EVENT, EMAIL_SENT, SENDER_FAILING):
        op.execute(function)
    op.execute("""
        CREATE TRIGGER webhook_email_events AFTER INSERT ON email_events FOR EACH ROW
        WHEN (NEW.type IN ('failed', 'bounced', 'opened', 'clicked', 'reply_received',
                           'unsubscribed'))
        EXECUTE FUNCTION webhook_email_event()
    """)
    op.execute("""
        CREATE TRIGGER webhook_email_sent AFTER UPDATE OF sent_at ON emails FOR EACH ROW
        WHEN (NEW.status = 'sent' AND OLD.status <> 'sent')
        EXECUTE FUNCTION webhook_email_sent()
    """)
    op.execute("""
        CREATE TRIGGER webhook_sender_failing AFTER UPDATE ON senders FOR EACH ROW
        WHEN (NEW.status = 'failing' AND OLD.status <> 'failing')
        EXECUTE FUNCTION webhook_sender_failing()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER webhook_sender_failing ON senders")
    op.execute("DROP TRIGGER webhook_email_sent ON emails")
    op.execute("DROP TRIGGER webhook_email_events ON email_events")
    for function in ("webhook_sender_failing()", "webhook_email_sent()", "webhook_email_event()",
                     "webhook_fan_out(uuid, text, jsonb, timestamptz)"):
        op.execute(f"DROP FUNCTION {function}")
    for table in ("webhook_attempts", "webhook_messages", "webhook_claims",
                  "webhook_endpoints", "api_keys"):
        op.drop_table(table)

"""Email events (issue 23): what happened to each email, for GET /emails/{id}, and the one
source that webhooks and analytics read.

- email_events: one row per event that the email row does not already hold. The machinery
  of sending (scheduled -> queued -> sending -> sent, and the moves back between the ledger
  and the queue) is not stored: `scheduled` is the row's created_at, `sent` its sent_at, and
  a queued or sending email shows that status at its updated_at (domain/events.py derives
  them when read). A row per email per hot-path transition would cost the send path and
  the 1,000,000-row import a write each.
- email_status_events: a row trigger with a WHEN clause. The clause is a C-level test on the
  old and new row, so the hot-path UPDATEs (claim, point of no return) pay one comparison
  per row and call no function; every other change of status (retry, deferred, failed,
  held, released, paused, resumed, cancelled, suppressed, replied, a lease taken back) and a
  delivery report's bounce class write a row, in the transaction that made the change,
  whichever of the statements in adapters/db made it. Who made it (`by`) and why come from
  the transaction's `emailsched.actor` / `emailsched.reason` settings where a statement
  sets them (adapters/db/events.py act_as), else from the transition's usual actor.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Which transitions write a row: everything but the machinery of the queue.
TRIGGER_WHEN = """
    (OLD.status <> NEW.status AND (
        NEW.status IN ('failed', 'paused', 'cancelled', 'held', 'suppressed', 'replied')
        OR OLD.status IN ('paused', 'held')
        OR (OLD.status IN ('sending', 'sent') AND NEW.status = 'queued'
            AND NEW.claim_token IS NOT NULL)
        OR (OLD.status = 'sending' AND NEW.status = 'scheduled')))
    OR (NEW.bounce_class IS NOT NULL AND NEW.bounce_class IS DISTINCT FROM OLD.bounce_class)
"""

EVENT_FUNCTION = """
CREATE FUNCTION email_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    actor text := NULLIF(current_setting('emailsched.actor', true), '');
    why text := NULLIF(current_setting('emailsched.reason', true), '');
BEGIN
    IF OLD.status = NEW.status THEN
        kind := 'bounced';
    ELSIF NEW.status = 'failed' AND OLD.status = 'sent' AND NEW.bounce_class IS NOT NULL THEN
        kind := 'bounced';
    ELSIF OLD.status = 'paused' AND NEW.status = 'scheduled' THEN
        kind := 'resumed';
    ELSIF OLD.status = 'held' AND NEW.status = 'scheduled' THEN
        kind := 'released';
    ELSIF NEW.status = 'queued' AND NEW.attempts > OLD.attempts THEN
        kind := 'retry';
    ELSIF NEW.status = 'queued' THEN
        kind := 'deferred';
    ELSE
        kind := NEW.status;  -- failed, paused, cancelled, held, suppressed, replied, scheduled
    END IF;
    IF kind IN ('retry', 'deferred', 'failed', 'bounced') THEN
        why := COALESCE(NEW.failure_reason, why);
    ELSIF kind = 'scheduled' THEN
        why := COALESCE(why, 'lease expired');
    END IF;
    INSERT INTO email_events (email_id, user_id, batch_id, type, at, by, detail)
    VALUES (NEW.id, NEW.user_id, NEW.batch_id, kind, clock_timestamp(),
            COALESCE(actor, CASE
                WHEN kind IN ('paused', 'resumed', 'cancelled') THEN 'user'
                WHEN kind = 'scheduled' THEN 'pump'
                WHEN kind = 'released' THEN 'api'
                WHEN kind = 'bounced' THEN 'poller'
                ELSE 'worker' END),
            CASE WHEN why IS NULL AND NEW.bounce_class IS NULL THEN NULL
                 ELSE jsonb_strip_nulls(jsonb_build_object(
                     'reason', why,
                     'bounce', CASE WHEN kind = 'bounced' THEN NEW.bounce_class END)) END);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "email_events",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("email_id", UUID(as_uuid=True),
                  sa.ForeignKey("emails.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("detail", JSONB, nullable=True),
    )
    op.create_index("ix_email_events_email", "email_events", ["email_id", "id"])
    op.execute(EVENT_FUNCTION)
    op.execute(f"""
        CREATE TRIGGER email_status_events AFTER UPDATE ON emails FOR EACH ROW
        WHEN ({TRIGGER_WHEN}) EXECUTE FUNCTION email_status_event()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER email_status_events ON emails")
    op.execute("DROP FUNCTION email_status_event()")
    op.drop_table("email_events")

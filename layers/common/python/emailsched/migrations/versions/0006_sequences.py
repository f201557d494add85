"""Sequences (issue 16): follow-up steps on a batch, the step of each email, the stops that
end a recipient's sequence (a reply, an unsubscribe, a hard bounce), the inbound messages
already counted, and each sender mailbox's reading position (UIDVALIDITY, last UID).

The statuses are written out here, not imported: a migration describes one moment.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_EMAIL_STATUSES = ("('scheduled','queued','sending','sent','failed','paused','cancelled','held',"
                      "'suppressed')")
EMAIL_STATUSES = ("('scheduled','queued','sending','sent','failed','paused','cancelled','held',"
                  "'suppressed','replied')")
STOP_REASONS = "('replied','unsubscribed','hard_bounce')"


def upgrade() -> None:
    op.add_column("batches", sa.Column("steps", JSONB, nullable=True))
    op.add_column("emails", sa.Column("step", sa.Integer, nullable=False, server_default="1"))
    op.add_column("emails", sa.Column("awaiting_next", sa.Boolean, nullable=False,
                                      server_default=sa.false()))
    op.add_column("senders", sa.Column("replies_polled_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.drop_constraint("uq_emails_batch_recipient", "emails", type_="unique")
    op.create_unique_constraint("uq_emails_batch_recipient_step", "emails",
                                ["batch_id", "recipient_email", "step"])
    op.create_index("ix_emails_message_id", "emails", ["message_id"],
                    postgresql_where=sa.text("message_id IS NOT NULL"))
    op.create_index("ix_emails_awaiting_next", "emails", ["sent_at"],
                    postgresql_where=sa.text("awaiting_next AND status = 'sent'"))
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", f"status IN {EMAIL_STATUSES}")
    op.create_table(
        "sequence_stops",
        sa.Column("batch_id", UUID(as_uuid=True),
                  sa.ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("recipient_email", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("email_id", UUID(as_uuid=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("batch_id", "recipient_email"),
        sa.CheckConstraint(f"reason IN {STOP_REASONS}", name="ck_sequence_stops_reason"),
    )
    op.create_table(
        "inbound_events",
        sa.Column("email_id", UUID(as_uuid=True),
                  sa.ForeignKey("emails.id", ondelete="CASCADE"), nullable=False),
        sa.Column("inbound_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("email_id", "inbound_id"),
    )
    op.create_table(
        "mailbox_checkpoints",
        sa.Column("sender_id", UUID(as_uuid=True),
                  sa.ForeignKey("senders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("sender_id", "folder"),
    )


def downgrade() -> None:
    op.drop_table("mailbox_checkpoints")
    op.drop_table("inbound_events")
    op.drop_table("sequence_stops")
    op.execute("UPDATE emails SET status = 'cancelled' WHERE status = 'replied'")
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", f"status IN {OLD_EMAIL_STATUSES}")
    op.drop_index("ix_emails_awaiting_next", "emails")
    op.drop_index("ix_emails_message_id", "emails")
    op.execute("DELETE FROM emails WHERE step > 1")
    op.drop_constraint("uq_emails_batch_recipient_step", "emails", type_="unique")
    op.create_unique_constraint("uq_emails_batch_recipient", "emails",
                                ["batch_id", "recipient_email"])
    op.drop_column("senders", "replies_polled_at")
    op.drop_column("emails", "awaiting_next")
    op.drop_column("emails", "step")
    op.drop_column("batches", "steps")

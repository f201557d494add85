"""Bounces and complaints as real mail servers send them (issue 24).

- emails.complained_at: when the recipient reported the email as spam (an ARF or JMRP
  complaint); ix_emails_batch_complained and ix_emails_sender_complained (partial: only
  complained emails) count a batch's complaints and a sender's among its last sends.
- senders.complaints: complaints against the sender's mail, as policy_blocks counts
  refusals.
- bounce_streaks: soft bounces of one address in a row, per user; SOFT_BOUNCES_BEFORE_SUPPRESS
  of them suppress it. A reply from the address ends its streak.
- ix_emails_sender_recipient: a report that names no Message-ID of ours is matched by its
  failed recipient among the sender's sent emails (partial: only sent ones, so scheduling
  and imports do not write it).
- sequence_stops may end with reason `complaint`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STOP_REASONS = "('replied','unsubscribed','hard_bounce','complaint')"
OLD_STOP_REASONS = "('replied','unsubscribed','hard_bounce')"


def upgrade() -> None:
    op.add_column("emails", sa.Column("complained_at", sa.DateTime(timezone=True),
                                      nullable=True))
    op.add_column("senders", sa.Column("complaints", sa.Integer, nullable=False,
                                       server_default="0"))
    op.create_index("ix_emails_batch_complained", "emails", ["batch_id"],
                    postgresql_where=sa.text("complained_at IS NOT NULL"))
    op.create_index("ix_emails_sender_complained", "emails", ["sender_id", "sent_at"],
                    postgresql_where=sa.text("complained_at IS NOT NULL"))
    op.create_index("ix_emails_sender_recipient", "emails",
                    ["sender_id", sa.text("lower(recipient_email)"), "sent_at"],
                    postgresql_where=sa.text("sent_at IS NOT NULL"))
    op.create_table(
        "bounce_streaks",
        sa.Column("user_id", UUID(as_uuid=True),
                  sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("email", sa.Text, primary_key=True),
        sa.Column("soft_bounces", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.drop_constraint("ck_sequence_stops_reason", "sequence_stops", type_="check")
    op.create_check_constraint("ck_sequence_stops_reason", "sequence_stops",
                               f"reason IN {STOP_REASONS}")


def downgrade() -> None:
    op.execute("UPDATE sequence_stops SET reason = 'unsubscribed' WHERE reason = 'complaint'")
    op.drop_constraint("ck_sequence_stops_reason", "sequence_stops", type_="check")
    op.create_check_constraint("ck_sequence_stops_reason", "sequence_stops",
                               f"reason IN {OLD_STOP_REASONS}")
    op.drop_table("bounce_streaks")
    op.drop_index("ix_emails_sender_recipient", "emails")
    op.drop_index("ix_emails_sender_complained", "emails")
    op.drop_index("ix_emails_batch_complained", "emails")
    op.drop_column("senders", "complaints")
    op.drop_column("emails", "complained_at")

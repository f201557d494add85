"""Batches through senders: which senders a batch rotates over (with each one's share and
estimate), senders deleted while their sent emails stay, and held emails listed as pending.

A deleted sender keeps its row (its sent emails and batches name it) with `deleted_at`; its
address is free again, so the unique address per user holds among live senders only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_PENDING = "('scheduled','queued','sending','paused')"
PENDING = "('scheduled','queued','sending','paused','held')"


def upgrade() -> None:
    op.create_table(
        "batch_senders",
        sa.Column("batch_id", UUID(as_uuid=True),
                  sa.ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("sender_id", UUID(as_uuid=True), sa.ForeignKey("senders.id"),
                  nullable=False),
        sa.Column("email_count", sa.Integer, nullable=False),
        sa.Column("estimated_end_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "position"),
    )
    op.add_column("senders", sa.Column("deleted_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.drop_constraint("uq_senders_user_email", "senders", type_="unique")
    op.create_index("uq_senders_user_email_live", "senders", ["user_id", "email"],
                    unique=True, postgresql_where=sa.text("deleted_at IS NULL"))
    op.drop_index("ix_emails_user_pending_due", "emails")
    op.create_index("ix_emails_user_pending_due", "emails", ["user_id", "due_at"],
                    postgresql_where=sa.text(f"status IN {PENDING}"))
    # Holding and releasing a sender's emails, and refusing to delete one with unsent mail.
    op.create_index("ix_emails_sender_status", "emails", ["sender_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_emails_sender_status", "emails")
    op.drop_index("ix_emails_user_pending_due", "emails")
    op.create_index("ix_emails_user_pending_due", "emails", ["user_id", "due_at"],
                    postgresql_where=sa.text(f"status IN {OLD_PENDING}"))
    op.drop_index("uq_senders_user_email_live", "senders")
    op.execute("DELETE FROM senders WHERE deleted_at IS NOT NULL "
               "AND id NOT IN (SELECT sender_id FROM emails)")
    op.create_unique_constraint("uq_senders_user_email", "senders", ["user_id", "email"])
    op.drop_column("senders", "deleted_at")
    op.drop_table("batch_senders")

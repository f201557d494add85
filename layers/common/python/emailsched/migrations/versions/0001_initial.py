"""The ledger: users, senders, batches, emails.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from emailsched.domain.model import (
    OUTCOME_EMAIL_STATUSES,
    PENDING_EMAIL_STATUSES,
    EmailStatus,
    sql_list,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PENDING = f"status IN ({sql_list(PENDING_EMAIL_STATUSES)})"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True,
                     server_default=sa.text("gen_random_uuid()"))


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    ]


def _user_fk() -> sa.Column:
    return sa.Column("user_id", UUID(as_uuid=True),
                     sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users", _id(),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("avatar", sa.Text, nullable=True),
        sa.Column("google_sub", sa.Text, nullable=True, unique=True),
        *_stamps(),
    )
    op.create_table(
        "senders", _id(), _user_fk(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        *_stamps(),
        sa.UniqueConstraint("user_id", "email", name="uq_senders_user_email"),
    )
    op.create_table(
        "batches", _id(), _user_fk(),
        sa.Column("sender_id", UUID(as_uuid=True), sa.ForeignKey("senders.id"), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delay_ms", sa.BigInteger, nullable=False),
        sa.Column("hourly_limit", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("email_count", sa.Integer, nullable=False),
        sa.Column("duplicates_removed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("estimated_end_time", sa.DateTime(timezone=True), nullable=False),
        *_stamps(),
        sa.CheckConstraint("status IN ('active','paused','cancelled')", name="ck_batches_status"),
        sa.CheckConstraint("hourly_limit > 0 AND delay_ms >= 0", name="ck_batches_limits"),
    )
    op.create_index("ix_batches_user_created", "batches", ["user_id", "created_at"])
    op.create_table(
        "emails", _id(),
        sa.Column("batch_id", UUID(as_uuid=True), sa.ForeignKey("batches.id", ondelete="CASCADE"),
                  nullable=False),
        _user_fk(),
        sa.Column("sender_id", UUID(as_uuid=True), sa.ForeignKey("senders.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("recipient_email", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wake_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="scheduled"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("message_id", sa.Text, nullable=True),
        sa.Column("claim_token", UUID(as_uuid=True), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("batch_id", "recipient_email", name="uq_emails_batch_recipient"),
        sa.CheckConstraint(
            f"status IN ({sql_list(EmailStatus)})",
            name="ck_emails_status"),
    )
    op.create_index("ix_emails_status_wake", "emails", ["status", "wake_at"])
    op.create_index("ix_emails_batch_status_seq", "emails", ["batch_id", "status", "seq"])
    op.create_index("ix_emails_user_pending_due", "emails", ["user_id", "due_at"],
                    postgresql_where=sa.text(PENDING))
    op.create_index("ix_emails_user_finished", "emails", ["user_id", "finished_at"],
                    postgresql_where=sa.text(f"status IN ({sql_list(OUTCOME_EMAIL_STATUSES)})"))
    op.create_index("ix_emails_sender_due", "emails", ["sender_id", "due_at"])
    op.create_index("ix_emails_user_status", "emails", ["user_id", "status"])
    op.create_index("ix_emails_sender_sent", "emails", ["sender_id", "sent_at"],
                    postgresql_where=sa.text("status = 'sent'"))


def downgrade() -> None:
    for table in ("emails", "batches", "senders", "users"):
        op.drop_table(table)

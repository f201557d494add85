"""Deliverability: a suppression list per user, merge fields stored once per recipient,
the user's postal address for the unsubscribe footer, bounce counts, and emails that are
`suppressed` (their recipient was suppressed after scheduling).

The statuses are written out here, not imported: a migration describes one moment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_EMAIL_STATUSES = "('scheduled','queued','sending','sent','failed','paused','cancelled','held')"
EMAIL_STATUSES = ("('scheduled','queued','sending','sent','failed','paused','cancelled','held',"
                  "'suppressed')")
REASONS = "('unsubscribed','hard_bounce','complaint','manual')"


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("email", sa.Text, nullable=False),  # lower case
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("user_id", "email"),
        sa.CheckConstraint(f"reason IN {REASONS}", name="ck_suppressions_reason"),
    )
    # Newest first for GET /suppressions.
    op.create_index("ix_suppressions_user_created", "suppressions", ["user_id", "created_at"])
    op.add_column("users", sa.Column("postal_address", sa.Text, nullable=True))
    op.add_column("emails", sa.Column("fields", JSONB, nullable=True))
    op.add_column("emails", sa.Column("bounce_class", sa.Text, nullable=True))
    # A batch's hard bounces, counted after each one (its bounce rate).
    op.create_index("ix_emails_batch_hard_bounce", "emails", ["batch_id"],
                    postgresql_where=sa.text("bounce_class = 'hard_bounce'"))
    op.add_column("batches", sa.Column("suppressed_removed", sa.Integer, nullable=False,
                                       server_default="0"))
    op.add_column("batches", sa.Column("paused_reason", sa.Text, nullable=True))
    op.add_column("batches", sa.Column("templated", sa.Boolean, nullable=False,
                                       server_default=sa.false()))
    op.add_column("senders", sa.Column("policy_blocks", sa.Integer, nullable=False,
                                       server_default="0"))
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", f"status IN {EMAIL_STATUSES}")


def downgrade() -> None:
    op.execute("UPDATE emails SET status = 'cancelled' WHERE status = 'suppressed'")
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", f"status IN {OLD_EMAIL_STATUSES}")
    op.drop_column("senders", "policy_blocks")
    for column in ("templated", "paused_reason", "suppressed_removed"):
        op.drop_column("batches", column)
    op.drop_index("ix_emails_batch_hard_bounce", "emails")
    op.drop_column("emails", "bounce_class")
    op.drop_column("emails", "fields")
    op.drop_column("users", "postal_address")
    op.drop_index("ix_suppressions_user_created", "suppressions")
    op.drop_table("suppressions")

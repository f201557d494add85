"""Sender domain health (issue 29): per sender, the DKIM selector the user named (tried
first) and the last check of its domain's SPF/DKIM/DMARC/MX (SPEC's GET /senders/{id}/dns
answer) with when it was made, refreshed daily.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sender_domain_checks",
        sa.Column("sender_id", UUID(as_uuid=True),
                  sa.ForeignKey("senders.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dkim_selector", sa.Text, nullable=True),
        sa.Column("report", JSONB, nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sender_domain_checks_checked", "sender_domain_checks",
                    ["checked_at"])


def downgrade() -> None:
    op.drop_table("sender_domain_checks")

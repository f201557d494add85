"""Each batch keeps the From name it was scheduled with.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("sender_name", sa.Text, nullable=False,
                                       server_default=""))
    op.execute("UPDATE batches b SET sender_name = s.name FROM senders s WHERE s.id = b.sender_id")


def downgrade() -> None:
    op.drop_column("batches", "sender_name")

"""Open and click tracking (issue 27): a batch's opt-in, `{opens, clicks}` (NULL: neither).

Hits are email_events rows (`opened`, `clicked`; migration 0012), so no table of their own.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("tracking", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("batches", "tracking")

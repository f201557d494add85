"""Sending windows and jitter on a batch (issue 15): the window it sends in (null: any
time), the random extra delay per gap, and the seed the jitter is drawn from, so resuming
or releasing held emails re-plans with the same draws.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("sending_window", JSONB, nullable=True))
    op.add_column("batches", sa.Column("random_delay_ms", sa.BigInteger, nullable=False,
                                       server_default="0"))
    op.add_column("batches", sa.Column("plan_seed", sa.BigInteger, nullable=False,
                                       server_default="0"))
    op.create_check_constraint("ck_batches_random_delay", "batches", "random_delay_ms >= 0")


def downgrade() -> None:
    op.drop_constraint("ck_batches_random_delay", "batches", type_="check")
    op.drop_column("batches", "plan_seed")
    op.drop_column("batches", "random_delay_ms")
    op.drop_column("batches", "sending_window")

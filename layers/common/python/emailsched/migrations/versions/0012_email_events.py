"""Email events (issue 23): what happened to each email, for GET /emails/{id}, and the one
source that webhooks and analytics read.

- email_events: one row per event the email row does not hold itself, written by the
  statement that made it happen, in its transaction (adapters/db/events.py says why not by
  a trigger). The machinery of sending (scheduled -> queued -> sending -> sent, and the
  moves back between the ledger and the queue) is not stored: `scheduled` is the row's
  created_at, `sent` its sent_at, and a queued or sending email shows that status at its
  updated_at (domain/events.py derives them when read). A row per email per hot-path
  transition would cost the send path and the 1,000,000-row import a write each.
- No foreign key to emails, like emails' own (migration 0011): a key would add a row trigger
  to every UPDATE of emails. Emails are deleted only with their batch, and the trigger that
  deletes them deletes their events too (by ix_email_events_batch).

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

CASCADE_FUNCTION = """
CREATE OR REPLACE FUNCTION emails_of_deleted_batches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM emails e USING deleted_batches d WHERE e.batch_id = d.id;
    DELETE FROM email_events v USING deleted_batches d WHERE v.batch_id = d.id;
    RETURN NULL;
END $$
"""
PREVIOUS_CASCADE_FUNCTION = """
CREATE OR REPLACE FUNCTION emails_of_deleted_batches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM emails e USING deleted_batches d WHERE e.batch_id = d.id;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "email_events",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("email_id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("detail", JSONB, nullable=True),
    )
    op.create_index("ix_email_events_email", "email_events", ["email_id", "id"])
    op.create_index("ix_email_events_batch", "email_events", ["batch_id", "type"])
    op.execute(CASCADE_FUNCTION)


def downgrade() -> None:
    op.execute(PREVIOUS_CASCADE_FUNCTION)
    op.drop_table("email_events")

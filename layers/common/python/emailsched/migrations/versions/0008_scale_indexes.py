"""Indexes for a million stored emails (issue 17): the list routes' ORDER BY in full, and the
finished emails' status in the index so the per-hour chart and "sent in the last hour" are
index-only scans.

- ix_emails_user_pending_due (user_id, due_at) -> (user_id, due_at, seq): GET
  /emails/scheduled orders by due_at, seq; the index now gives that order itself, so the
  page is the first LIMIT entries after OFFSET, with no sort step however many are pending.
- ix_emails_user_finished (user_id, finished_at) -> (user_id, finished_at, seq, status):
  GET /emails/sent orders by finished_at DESC, seq DESC (the index read backwards); the
  trailing status lets the stats' per-hour and last-hour counts skip the table (they read
  105,000 heap rows a day at 1,000,000 stored: 128 ms, measured by `emailsched bench --only
  api_load --verbose`).

Both keep their partial WHERE (pending statuses / outcomes) and their names, so every query
that used them still does. On a big table, build them by hand with CREATE INDEX
CONCURRENTLY under a temporary name before migrating, if the lock matters.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The predicates as 0004 and 0001 left them (written out: a migration does not follow the enum).
PENDING = "status IN ('scheduled', 'queued', 'sending', 'paused', 'held')"
OUTCOMES = "status IN ('sent', 'failed')"


def _replace(name: str, columns: list[str], where: str) -> None:
    op.drop_index(name, "emails")
    op.create_index(name, "emails", columns, postgresql_where=sa.text(where))


def upgrade() -> None:
    _replace("ix_emails_user_pending_due", ["user_id", "due_at", "seq"], PENDING)
    _replace("ix_emails_user_finished", ["user_id", "finished_at", "seq", "status"], OUTCOMES)


def downgrade() -> None:
    _replace("ix_emails_user_finished", ["user_id", "finished_at"], OUTCOMES)
    _replace("ix_emails_user_pending_due", ["user_id", "due_at"], PENDING)

"""Emails written straight by imports (issue 17): no row-by-row foreign key checks on
emails, and one index fewer to keep.

- emails_batch_id_fkey and emails_sender_id_fkey dropped. Each fired a trigger per inserted
  row (a lookup and a row lock on the parent): in a 1,000,000-row import on two cores they
  cost more than all eight indexes together, as measured by `emailsched bench --only
  imports` (16.7 s with them, 9.5 s without, the parse and planning unchanged). Every
  email is written with a batch its transaction just inserted or holds locked, and a sender
  it has locked (SchedulingService, the import job, the follow-up planner copying the
  previous step's). Senders are never deleted (deleted_at), so only a batch's deletion
  needs its emails gone: a statement trigger on batches deletes them, as the key's ON
  DELETE CASCADE did, one statement for all of a statement's batches.
- ix_emails_sender_due (sender_id, due_at) and ix_emails_sender_status (sender_id, status)
  become ix_emails_sender_status_due (sender_id, status, due_at): the plan's usage queries
  name the statuses they count (an IN list, so the index is read per status), holding,
  releasing and counting a sender's emails use its first two columns.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CASCADE_FUNCTION = """
CREATE FUNCTION emails_of_deleted_batches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM emails e USING deleted_batches d WHERE e.batch_id = d.id;
    RETURN NULL;
END $$
"""
CASCADE_TRIGGER = """
CREATE TRIGGER batches_delete_emails AFTER DELETE ON batches
REFERENCING OLD TABLE AS deleted_batches FOR EACH STATEMENT
EXECUTE FUNCTION emails_of_deleted_batches()
"""


def upgrade() -> None:
    op.drop_constraint("emails_batch_id_fkey", "emails", type_="foreignkey")
    op.drop_constraint("emails_sender_id_fkey", "emails", type_="foreignkey")
    op.execute(CASCADE_FUNCTION)
    op.execute(CASCADE_TRIGGER)
    op.create_index("ix_emails_sender_status_due", "emails", ["sender_id", "status", "due_at"])
    op.drop_index("ix_emails_sender_due", "emails")
    op.drop_index("ix_emails_sender_status", "emails")


def downgrade() -> None:
    op.create_index("ix_emails_sender_status", "emails", ["sender_id", "status"])
    op.create_index("ix_emails_sender_due", "emails", ["sender_id", "due_at"])
    op.drop_index("ix_emails_sender_status_due", "emails")
    op.execute("DROP TRIGGER batches_delete_emails ON batches")
    op.execute("DROP FUNCTION emails_of_deleted_batches()")
    op.create_foreign_key("emails_sender_id_fkey", "emails", "senders", ["sender_id"], ["id"])
    op.create_foreign_key("emails_batch_id_fkey", "emails", "batches", ["batch_id"], ["id"],
                          ondelete="CASCADE")

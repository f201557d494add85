"""The import's last step (issue 17): one foreign key fewer checked per moved row, and
import_rows unlogged.

- emails_user_id_fkey dropped (the column stays): every email is written with its batch's
  user (the JSON path: SchedulingService._store passes the batch's user_id to both; an
  import: PgImportStore.finish the import's user to both; a follow-up: sequences.NEW_STEPS
  copies the previous step's e.user_id), nothing updates emails.user_id, and a user's
  deletion reaches emails through batches (batches.user_id ON DELETE CASCADE, then
  emails.batch_id ON DELETE CASCADE). The key only repeated, row by row, what batch_id's
  key already proves: ~1/3 of the three keys' checks in the 1,000,000-row move.
- import_rows UNLOGGED: staged rows are written (COPY) and deleted (at the end) without WAL.
  They are lost if Postgres crashes or fails over; the last step then moves fewer rows than
  the import counted and fails the import instead of storing a short batch.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("emails_user_id_fkey", "emails", type_="foreignkey")
    op.execute("ALTER TABLE import_rows SET UNLOGGED")


def downgrade() -> None:
    op.execute("ALTER TABLE import_rows SET LOGGED")
    op.create_foreign_key("emails_user_id_fkey", "emails", "users", ["user_id"], ["id"],
                          ondelete="CASCADE")

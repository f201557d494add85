"""Big lists through S3 (issue 17): the imports table (status, counts, first errors, the
request, the checkpoint an import goes on from) and import_rows, where an import's planned
rows wait (appended by COPY) until its last step moves them into emails with the batch.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("user_id", UUID(as_uuid=True),
                  sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="uploading"),
        sa.Column("object_key", sa.Text, nullable=False),
        _count("rows"), _count("valid"), _count("invalid"), _count("duplicates"),
        _count("suppressed"),
        sa.Column("errors", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("request", JSONB, nullable=True),
        sa.Column("checkpoint", JSONB, nullable=True),
        sa.Column("batch_id", UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('uploading','importing','done','failed')",
                           name="ck_imports_status"),
    )
    op.create_index("ix_imports_user_created", "imports", ["user_id", "created_at"])
    op.create_table(
        "import_rows",
        sa.Column("import_id", UUID(as_uuid=True), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("sender_index", sa.Integer, nullable=False),
        sa.Column("email_id", UUID(as_uuid=True), nullable=False),
        sa.Column("recipient_email", sa.Text, nullable=False),
        sa.Column("due_ms", sa.BigInteger, nullable=False),
        sa.Column("fields", JSONB, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("import_rows")
    op.drop_index("ix_imports_user_created", "imports")
    op.drop_table("imports")

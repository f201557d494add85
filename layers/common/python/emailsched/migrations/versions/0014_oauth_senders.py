"""Mailboxes connected by OAuth (issue 25): senders of kind `google` and `microsoft`, their
refresh token (encrypted like a password) and what the consent granted, and the single-use
states of consents under way.

- ck_senders_kind admits `google` and `microsoft`. Such a sender keeps its provider's SMTP
  (and IMAP) server in the smtp_*/imap_* columns, its username being the mailbox address.
- oauth_refresh_token_enc: a CredentialCipher token (context `sender:<id>:oauth_refresh`).
- oauth_scopes, oauth_connected_at: shown as `oauth: {provider, scopes, connectedAt}`.
- oauth_states: one row per consent started, keyed by the SHA-256 of its `state` (the state
  itself is only ever in the user's browser), deleted when the callback takes it, so a state
  works once; `expires_at` is 10 minutes after the start.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('smtp','relay')"
NEW_KINDS = "kind IN ('smtp','relay','google','microsoft')"


def upgrade() -> None:
    op.drop_constraint("ck_senders_kind", "senders", type_="check")
    op.create_check_constraint("ck_senders_kind", "senders", NEW_KINDS)
    op.add_column("senders", sa.Column("oauth_refresh_token_enc", sa.Text(), nullable=True))
    op.add_column("senders", sa.Column("oauth_scopes", sa.Text(), nullable=True))
    op.add_column("senders", sa.Column("oauth_connected_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.Text(), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True),
                  sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("options", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )


def downgrade() -> None:
    op.drop_table("oauth_states")
    op.drop_column("senders", "oauth_connected_at")
    op.drop_column("senders", "oauth_scopes")
    op.drop_column("senders", "oauth_refresh_token_enc")
    op.execute("DELETE FROM senders WHERE kind IN ('google','microsoft')")
    op.drop_constraint("ck_senders_kind", "senders", type_="check")
    op.create_check_constraint("ck_senders_kind", "senders", OLD_KINDS)

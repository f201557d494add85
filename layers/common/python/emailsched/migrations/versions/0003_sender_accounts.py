"""Senders become mailboxes: their own SMTP (and IMAP) account with encrypted passwords,
their own limits and timezone, and a health status; emails may be `held`.

Existing senders become relay senders (they sent through the deployment's SMTP_* relay).
The statuses are written out here, not imported: a migration describes one moment.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD_EMAIL_STATUSES = "('scheduled','queued','sending','sent','failed','paused','cancelled')"
EMAIL_STATUSES = "('scheduled','queued','sending','sent','failed','paused','cancelled','held')"
SECURITIES = "('none','starttls','tls')"


def _account(prefix: str) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}_host", sa.Text, nullable=True),
        sa.Column(f"{prefix}_port", sa.Integer, nullable=True),
        sa.Column(f"{prefix}_security", sa.Text, nullable=True),
        sa.Column(f"{prefix}_username", sa.Text, nullable=True),
        # A CredentialCipher token (v1.local... or v1.kms...), never the password itself.
        sa.Column(f"{prefix}_password_enc", sa.Text, nullable=True),
    ]


def upgrade() -> None:
    columns = [
        sa.Column("kind", sa.Text, nullable=False, server_default="relay"),
        *_account("smtp"), *_account("imap"),
        sa.Column("hourly_limit", sa.Integer, nullable=True),
        sa.Column("daily_limit", sa.Integer, nullable=True),
        sa.Column("min_delay_ms", sa.Integer, nullable=True),
        sa.Column("timezone", sa.Text, nullable=False, server_default="UTC"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    ]
    for column in columns:
        op.add_column("senders", column)
    checks = {
        "ck_senders_kind": "kind IN ('smtp','relay')",
        "ck_senders_status": "status IN ('active','failing')",
        "ck_senders_smtp_account": "kind = 'relay' OR (smtp_host IS NOT NULL AND "
                                   "smtp_port IS NOT NULL AND smtp_security IS NOT NULL)",
        "ck_senders_security": f"(smtp_security IS NULL OR smtp_security IN {SECURITIES}) AND "
                               f"(imap_security IS NULL OR imap_security IN {SECURITIES})",
        "ck_senders_limits": "(hourly_limit IS NULL OR hourly_limit > 0) AND "
                             "(daily_limit IS NULL OR daily_limit > 0) AND "
                             "(min_delay_ms IS NULL OR min_delay_ms >= 0)",
    }
    for name, condition in checks.items():
        op.create_check_constraint(name, "senders", condition)
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", f"status IN {EMAIL_STATUSES}")


def downgrade() -> None:
    op.execute("UPDATE emails SET status = 'scheduled' WHERE status = 'held'")
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", f"status IN {OLD_EMAIL_STATUSES}")
    for name in ("ck_senders_limits", "ck_senders_security", "ck_senders_smtp_account",
                 "ck_senders_status", "ck_senders_kind"):
        op.drop_constraint(name, "senders", type_="check")
    for column in ("kind", "smtp_host", "smtp_port", "smtp_security", "smtp_username",
                   "smtp_password_enc", "imap_host", "imap_port", "imap_security",
                   "imap_username", "imap_password_enc", "hourly_limit", "daily_limit",
                   "min_delay_ms", "timezone", "status", "last_error", "consecutive_failures"):
        op.drop_column("senders", column)

"""The inbox (issue 26): threads (one per lead: a recipient of a batch) with their lead
status, the inbound messages the reply poller matched, and replies sent from the product
as emails of the ledger.

- inbox_threads: a lead's status (who set it, when), unread flag, last activity, and the
  day an away lead's follow-ups resume (`resume_at`, read by the follow-up planner).
  GET /inbox lists a user's threads with at least one inbound message, latest first
  (ix_inbox_threads_user_activity, which carries the filters' columns so that a page's
  total is counted from the index alone).
- inbox_messages: one row per inbound message and thread, unique by the message's
  Message-ID (or its hash), so a mailbox read twice stores nothing twice.
- inbox_threads.search: the lead's address (and its parts), the campaign's subject and every
  kept message's addresses, subject and text, as one tsvector per thread (GIN) for
  GET /inbox?q: a search walks the user's threads latest first and stops at a page, where a
  vector per message had to be matched whole before the page could be cut (bench_inbox).
- emails.kind ('email' or 'reply'), emails.subject / emails.body (a reply's own, read by
  the sender's claim with COALESCE; NULL for every other email) and emails.refs (a reply's
  In-Reply-To / References chain). A reply's step is 0 minus its number in the thread, so
  no statement about steps (> 1: follow-ups) touches it and uq_emails_batch_recipient_step
  still holds.
- sequence_stops.reason gains 'lead_status': the user set a status that ends the
  conversation.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LEAD_STATUSES = ("('new','replied','interested','not_interested','meeting_booked',"
                 "'out_of_office','wrong_person','unsubscribed','bounced','closed')")


def upgrade() -> None:
    op.add_column("emails", sa.Column("kind", sa.Text, nullable=False,
                                      server_default="email"))
    op.add_column("emails", sa.Column("subject", sa.Text, nullable=True))
    op.add_column("emails", sa.Column("body", sa.Text, nullable=True))
    op.add_column("emails", sa.Column("refs", ARRAY(sa.Text), nullable=True))
    op.create_check_constraint("ck_emails_kind", "emails", "kind IN ('email','reply')")
    op.drop_constraint("ck_sequence_stops_reason", "sequence_stops")
    op.create_check_constraint(
        "ck_sequence_stops_reason", "sequence_stops",
        "reason IN ('replied','unsubscribed','hard_bounce','complaint','lead_status')")
    op.create_table(
        "inbox_threads",
        sa.Column("id", UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True),
                  sa.ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("recipient_email", sa.Text, nullable=False),
        sa.Column("sender_id", UUID(as_uuid=True), nullable=False),
        sa.Column("lead_status", sa.Text, nullable=False, server_default="new"),
        sa.Column("lead_status_by", sa.Text, nullable=True),
        sa.Column("lead_status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unread", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inbound_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("snippet", sa.Text, nullable=False, server_default=""),
        sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("search", TSVECTOR, nullable=False,
                  server_default=sa.text("''::tsvector")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.UniqueConstraint("batch_id", "recipient_email", name="uq_inbox_threads_lead"),
        sa.CheckConstraint(f"lead_status IN {LEAD_STATUSES}", name="ck_inbox_threads_status"),
    )
    op.create_index("ix_inbox_threads_user_activity", "inbox_threads",
                    ["user_id", "last_message_at"],
                    postgresql_include=["unread", "lead_status", "sender_id", "batch_id"],
                    postgresql_where=sa.text("inbound_count > 0"))
    op.create_index("ix_inbox_threads_search", "inbox_threads", ["search"],
                    postgresql_using="gin")
    # The totals of the two filters the dashboard shows most (the unread count in the
    # navigation, a status tab), counted from small indexes alone.
    op.create_index("ix_inbox_threads_user_unread", "inbox_threads", ["user_id"],
                    postgresql_where=sa.text("unread AND inbound_count > 0"))
    op.create_index("ix_inbox_threads_user_status", "inbox_threads", ["user_id", "lead_status"],
                    postgresql_where=sa.text("inbound_count > 0"))
    op.create_table(
        "inbox_messages",
        sa.Column("id", UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("thread_id", UUID(as_uuid=True),
                  sa.ForeignKey("inbox_threads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email_id", UUID(as_uuid=True), nullable=True),
        sa.Column("inbound_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("from_address", sa.Text, nullable=False, server_default=""),
        sa.Column("to_address", sa.Text, nullable=False, server_default=""),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("html", sa.Text, nullable=True),
        sa.Column("headers", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("attachments", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.UniqueConstraint("thread_id", "inbound_id", name="uq_inbox_messages_inbound"),
        sa.CheckConstraint("kind IN ('reply','auto_reply','bounce')",
                           name="ck_inbox_messages_kind"),
    )


def downgrade() -> None:
    op.drop_table("inbox_messages")
    op.drop_table("inbox_threads")
    op.drop_constraint("ck_sequence_stops_reason", "sequence_stops")
    op.create_check_constraint("ck_sequence_stops_reason", "sequence_stops",
                               "reason IN ('replied','unsubscribed','hard_bounce','complaint')")
    op.drop_constraint("ck_emails_kind", "emails")
    for column in ("refs", "body", "subject", "kind"):
        op.drop_column("emails", column)

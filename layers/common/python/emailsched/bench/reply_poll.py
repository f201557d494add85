"""The reply poller's cost per message, database included: one run over a sender's
mailbox holding bench/inbound.py's mix, each message answering one of the sender's sent
emails (its Message-ID stored as the sender writes it), read from a dev Maildir through
the same MailboxReader port, matching and recording code as an IMAP mailbox.

Figures: wall time of the run per message, and this process's CPU per message (Postgres
apart). The ledger is written straight into a database of its own, not through the API.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from emailsched import bootstrap
from emailsched.adapters.db.engine import migrate
from emailsched.adapters.mailboxes import deliver_to_maildir, maildir_for
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.inbound import mailbox
from emailsched.bench.report import Section
from emailsched.settings import Settings

SENDER = "sales@bench.example"
LEDGER = text("""
    WITH u AS (INSERT INTO users (id, email) VALUES (:user_id, 'owner@bench.example')),
         s AS (INSERT INTO senders (id, user_id, email, kind)
               VALUES (:sender_id, :user_id, :sender, 'relay')),
         b AS (INSERT INTO batches (id, user_id, sender_id, subject, body, start_time, delay_ms,
                                    hourly_limit, email_count, estimated_end_time)
               VALUES (:batch_id, :user_id, :sender_id, 'Quick question', 'Hello', now(), 0,
                       1000, :count, now()))
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at,
                        status, sent_at, finished_at, message_id)
    SELECT :batch_id, :user_id, :sender_id, n, 'lead' || n || '@example.org', now(), now(),
           'sent', now(), now(), '<bench' || n || '@mail.example.com>'
    FROM generate_series(0, :count - 1) AS n
""")


def run_reply_poll(env: BenchEnvironment, count: int, section: Section) -> None:
    database_url = env.create_database("replies")
    root = env.scratch("replies")
    try:
        values: dict[str, Any] = env.settings(database_url, DEV_REPLY_MAILDIR=str(root))
        container = bootstrap.Container(Settings(**values))
        try:
            _measure(container, root, count, section)
        finally:
            container.close()
    finally:
        env.drop_database(database_url)


def _measure(container: bootstrap.Container, root: Path, count: int, section: Section) -> None:
    migrate(container.engine)
    _ledger(container.engine, count)
    folder = maildir_for(root, SENDER)
    for raw in mailbox(count, ids=lambda n: f"bench{n}"):
        deliver_to_maildir(folder, raw)
    poller = container.replies
    wall, cpu = time.perf_counter(), time.process_time()
    report = poller.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    section.add("reply poller per message, wall (database included)", wall * 1000 / count, "ms")
    section.add("reply poller per message, CPU of the poller's process", cpu * 1000 / count,
                "ms")
    section.notes.append(f"{count} messages in one sender's Maildir, one run; "
                         f"what it counted: {report.as_dict()}")


def _ledger(engine: Engine, count: int) -> None:
    with engine.begin() as connection:
        connection.execute(LEDGER, {"user_id": uuid.uuid4(), "sender_id": uuid.uuid4(),
                                    "batch_id": uuid.uuid4(), "sender": SENDER,
                                    "count": count})
        connection.exec_driver_sql("ANALYZE emails")

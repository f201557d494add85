"""The cost of one reply poll (services/replies.py through the IMAP adapter and the Postgres
store) of a real Dovecot mailbox holding 10,000 messages: with no new message since the
checkpoint, and with 100 new replies to our emails. Needs root and dovecot-imapd (as the
Dovecot tests), Postgres at DATABASE_URL (default the test server).

    PYTHONPATH=. .venv/bin/python scripts/bench_reply_poll.py
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

import sqlalchemy

from emailsched.adapters.clock import SystemClock
from emailsched.adapters.db.engine import make_engine, migrate
from emailsched.adapters.db.inbox_keeper import PgInboxKeeper
from emailsched.adapters.db.sequences import PgReplyStore
from emailsched.adapters.mailboxes import MailboxOpeners
from emailsched.adapters.metrics import NullMetrics
from emailsched.services.inbox_keeper import InboxKeeper
from emailsched.services.replies import ReplyConfig, ReplyPoller
from tests.support.dovecot import running_dovecot
from tests.support.stack import create_database

ADMIN = os.environ.get("DATABASE_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")
USER, PASSWORD = "bench@example.com", "secret"


class PlainCipher:
    def decrypt(self, token: str, context: str) -> str:
        return token

    def encrypt(self, plaintext: str, context: str) -> str:
        return plaintext

    def check(self) -> None:
        return None


def message(n: int, in_reply_to: str | None = None) -> bytes:
    headers = [f"From: person{n}@example.org", f"To: {USER}", f"Subject: Re: hello {n}",
               f"Message-ID: <in-{n}-{uuid.uuid4().hex}@example.org>"]
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(headers) + "\r\n\r\n" + "Thanks, sounds good.\r\n" * 20).encode()


def main() -> None:
    url, drop = create_database(ADMIN)
    engine = make_engine(url)
    try:
        migrate(engine)
        with running_dovecot() as dovecot:
            dovecot.add_user(USER, PASSWORD)
            with engine.begin() as c:
                user_id = c.execute(sqlalchemy.text(
                    "INSERT INTO users (email) VALUES ('u@example.com') RETURNING id")).scalar()
                sender_id = c.execute(sqlalchemy.text(
                    "INSERT INTO senders (user_id, email, imap_host, imap_port, imap_security,"
                    " imap_username, imap_password_enc) VALUES (:u, :e, :h, :p, 'none', :e, :pw)"
                    " RETURNING id"), {"u": user_id, "e": USER, "h": dovecot.host,
                                       "p": dovecot.port, "pw": PASSWORD}).scalar()
                batch_id = c.execute(sqlalchemy.text(
                    "INSERT INTO batches (user_id, sender_id, subject, body, start_time, delay_ms,"
                    " hourly_limit, email_count, estimated_end_time, steps) VALUES (:u, :s, 'hi',"
                    " 'b', now(), 0, 1000, 100, now(), '[{\"body\": \"x\", \"waitSeconds\": 60}]')"
                    " RETURNING id"), {"u": user_id, "s": sender_id}).scalar()
                ids = [uuid.uuid4() for _ in range(100)]
                c.execute(sqlalchemy.text(
                    "INSERT INTO emails (id, batch_id, user_id, sender_id, seq, recipient_email,"
                    " due_at, wake_at, status, sent_at, message_id) SELECT i, :b, :u, :s, n,"
                    " 'person' || n || '@example.org', now(), now(), 'sent', now(),"
                    " '<' || i || '@example.com>' FROM unnest(CAST(:ids AS uuid[]))"
                    " WITH ORDINALITY AS t(i, n)"),
                    {"b": batch_id, "u": user_id, "s": sender_id, "ids": ids})
            dovecot.write_messages(USER, (message(n) for n in range(10_000)))
            store = PgReplyStore(engine)  # with the inbox keeping what it matches, as deployed
            poller = ReplyPoller(store, MailboxOpeners(PlainCipher), SystemClock(), ReplyConfig(),
                                 NullMetrics(),
                                 inbox=InboxKeeper(PgInboxKeeper(engine), store, SystemClock()))
            started = time.perf_counter()
            first = poller.run()
            took = time.perf_counter() - started
            print(f"first read of 10,000 messages (none ours): {took:.2f} s,"
                  f" {first.messages} read, {first.unmatched} unmatched")
            idle = []
            for _ in range(20):
                started = time.perf_counter()
                report = poller.run()
                idle.append(time.perf_counter() - started)
                assert report.messages == 0
            print("poll, 10,000 messages, none new: "
                  f"median {statistics.median(idle) * 1000:.1f} ms,"
                  f" max {max(idle) * 1000:.1f} ms (20 polls)")
            busy = []
            for round_ in range(3):
                connection = dovecot.imap(USER, PASSWORD)  # APPEND: as mail arrives
                for k in range(100):
                    connection.append("INBOX", "", None,
                                      message(20_000 + round_ * 100 + k, f"<{ids[k]}@example.com>"))
                connection.logout()
                started = time.perf_counter()
                report = poller.run()
                busy.append(time.perf_counter() - started)
                assert report.messages == 100, report
            print(f"poll, 10,000 + 100 new replies: median {statistics.median(busy) * 1000:.1f} ms,"
                  f" max {max(busy) * 1000:.1f} ms (3 polls; {report.replies} replies recorded "
                  f"in the last)")
    finally:
        engine.dispose()
        drop()


if __name__ == "__main__":
    main()

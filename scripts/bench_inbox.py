"""The inbox's reads at size (issue 26): GET /inbox's list (latest first, unread only, a
lead status) and its search (a word of the text, part of an address) over 100,000 stored
inbound messages (20,000 threads of one user, 5 messages each), by 20 clients at once,
through the service and Postgres adapter the API uses (a page of 20 and its total). Prints
p50 / p99 per query. Postgres at DATABASE_URL (default the test server).

    PYTHONPATH=layers/common/python:. .venv/bin/python scripts/bench_inbox.py
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable

import sqlalchemy

from emailsched.adapters.clock import SystemClock
from emailsched.adapters.db.engine import make_engine, migrate
from emailsched.adapters.db.inbox import PgInbox
from emailsched.domain.inbox.leads import LeadStatus
from emailsched.domain.inbox.threads import InboxFilter
from emailsched.services.inbox import InboxService
from emailsched.services.queries import Page
from tests.support.stack import create_database

ADMIN = os.environ.get("DATABASE_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")
THREADS, PER_THREAD, CLIENTS, ROUNDS = 20_000, 5, 20, 15
WORDS = ("pricing", "demo", "budget", "vacation", "contract", "integration", "security",
         "timeline", "roadmap", "meeting")

SEED = sqlalchemy.text("""
    WITH u AS (INSERT INTO users (email) VALUES (:email) RETURNING id),
    s AS (INSERT INTO senders (user_id, email) SELECT id, 'me@us.example' FROM u RETURNING id),
    b AS (INSERT INTO batches (user_id, sender_id, subject, body, start_time, delay_ms,
                               hourly_limit, email_count, estimated_end_time)
          SELECT u.id, s.id, 'Quick question', 'b', now(), 0, 100, :threads, now()
          FROM u, s RETURNING id, user_id, sender_id)
    INSERT INTO inbox_threads (user_id, batch_id, recipient_email, sender_id, lead_status,
                               unread, last_message_at, inbound_count, snippet)
    SELECT b.user_id, b.id, 'lead' || n || '@company' || mod(n, 500) || '.example', b.sender_id,
           (ARRAY['replied','interested','out_of_office','not_interested'])[1 + mod(n, 4)],
           mod(n, 7) = 0, now() - make_interval(secs => n * 60), :per_thread, 'Thanks'
    FROM b, generate_series(1, :threads) AS n
""")
MESSAGES = sqlalchemy.text("""
    INSERT INTO inbox_messages (thread_id, inbound_id, kind, from_address, to_address, subject,
                                text, received_at)
    SELECT th.id, '<' || th.id || '-' || k || '@them.example>', 'reply', th.recipient_email,
           'me@us.example', 'Re: Quick question', body, th.last_message_at
    FROM inbox_threads th, generate_series(1, :per_thread) AS k,
         LATERAL (SELECT 'Thanks for the note about ' || (CAST(:words AS text[]))[
                      1 + mod(abs(hashtext(th.id::text || k)), 10)] ||
                  '. ' || repeat('We will look at it with the team next week. ', 8) AS body) t
""")
# What the inbox keeper writes, message by message (adapters/db/inbox_keeper.py).
SEARCH = sqlalchemy.text("""
    UPDATE inbox_threads th SET search =
        to_tsvector('simple', th.recipient_email || ' ' || split_part(th.recipient_email, '@', 1)
                    || ' ' || split_part(th.recipient_email, '@', 2) || ' '
                    || replace(split_part(th.recipient_email, '@', 2), '.', ' '))
        || to_tsvector('english', 'Quick question')
        || (SELECT to_tsvector('english', string_agg(m.from_address || ' ' || m.to_address || ' '
                                                     || m.subject || ' ' || m.text, ' '))
            FROM inbox_messages m WHERE m.thread_id = th.id)
""")


def seed(engine: sqlalchemy.Engine) -> uuid.UUID:
    with engine.begin() as c:
        c.execute(SEED, {"email": "bench@example.com", "threads": THREADS,
                         "per_thread": PER_THREAD})
        c.execute(MESSAGES, {"per_thread": PER_THREAD, "words": list(WORDS)})
        c.execute(SEARCH)
        user = uuid.UUID(str(c.exec_driver_sql(
            "SELECT id FROM users WHERE email = 'bench@example.com'").scalar_one()))
    # What autovacuum does after a load: statistics, and the visibility map that lets a
    # total be counted from the index alone.
    autocommit = sqlalchemy.create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with autocommit.connect() as c:
        c.exec_driver_sql("VACUUM ANALYZE")
    autocommit.dispose()
    return user


def measure(name: str, call: Callable[[], object]) -> None:
    timings: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(ROUNDS):
            start = time.perf_counter()
            call()
            with lock:
                timings.append((time.perf_counter() - start) * 1000)

    workers = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ordered = sorted(timings)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"{name:<34} p50 {statistics.median(ordered):7.1f} ms   p99 {p99:7.1f} ms   "
          f"({len(ordered)} requests, {CLIENTS} clients)")


def main() -> None:
    url, drop = create_database(ADMIN)
    engine = make_engine(url)
    try:
        migrate(engine)
        started = time.perf_counter()
        user = seed(engine)
        count = engine.connect().exec_driver_sql("SELECT count(*) FROM inbox_messages")
        print(f"seeded {count.scalar_one():,} messages in {time.perf_counter() - started:.0f} s")
        inbox = InboxService(PgInbox(engine), SystemClock())
        cases: dict[str, InboxFilter] = {
            "list, latest first": InboxFilter(),
            "unread only": InboxFilter(unread=True),
            "lead status interested": InboxFilter(lead_status=LeadStatus.INTERESTED),
            "search a word (q=roadmap)": InboxFilter(q="roadmap"),
            "search a domain (q=company42)": InboxFilter(q="company42"),
            "search an address (q=lead4242@...)": InboxFilter(q="lead4242@company242.example"),
        }
        for name, where in cases.items():
            measure(name, lambda where=where: inbox.threads(user, where, Page(1, 20)))
    finally:
        engine.dispose()
        drop()


if __name__ == "__main__":
    main()

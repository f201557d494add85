"""Pump cost: one pump run over a ledger holding many future emails and none due, and one
with some due; and the plans of the queries it runs (EXPLAIN ANALYZE, with --verbose).

The stored emails are written straight into a database of their own with generate_series,
as the schema defines them (every index in place), not through the API.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from sqlalchemy import Connection, text

from emailsched import bootstrap
from emailsched.adapters.db import ledger
from emailsched.adapters.db.engine import migrate
from emailsched.adapters.queues import ensure_queues
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.report import Section
from emailsched.bench.stats import median
from emailsched.settings import Settings

IDLE_RUNS = 7
DUE_RUNS = 3
TARGET_IDLE_MS = 50.0

STORE = text("""
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at)
    SELECT :batch_id, :user_id, :sender_id, i, 'r' || i || '@example.com',
           now() + interval '1 day' + i * interval '100 milliseconds',
           now() + interval '1 day' + i * interval '100 milliseconds'
    FROM generate_series(0, :count - 1) AS i
""")
# The soonest stored emails fall due now (and the previous round's leave the queue).
MAKE_DUE = text("""
    UPDATE emails SET due_at = now() - interval '1 second', wake_at = now() - interval '1 second'
    WHERE id IN (SELECT id FROM emails WHERE status = 'scheduled' ORDER BY wake_at
                 LIMIT :count)
""")
FINISH_QUEUED = text("UPDATE emails SET status = 'sent', sent_at = now() "
                     "WHERE status = 'queued'")


def run_pump_cost(env: BenchEnvironment, stored: int, due: int, section: Section) -> None:
    database_url = env.create_database("pump")
    moto = env.start_aws(env.scratch("pump"))
    try:
        values: dict[str, Any] = env.settings(database_url, AWS_ENDPOINT_URL=moto.url)
        container = bootstrap.Container(Settings(**values))
        # moto takes any key; these keep whatever credentials the environment holds away.
        container.__dict__["sqs"] = boto3.client(
            "sqs", region_name=container.settings.AWS_REGION, endpoint_url=moto.url,
            aws_access_key_id="bench", aws_secret_access_key="bench")
        try:
            _measure(container, stored, due, section)
        finally:
            container.close()
    finally:
        moto.stop()
        env.drop_database(database_url)


def _measure(container: bootstrap.Container, stored: int, due: int, section: Section) -> None:
    migrate(container.engine)
    ensure_queues(container.sqs, container.settings.SEND_QUEUE_NAME)
    began = time.monotonic()
    _store(container, stored)
    section.notes.append(f"{stored:,} future emails stored with generate_series in "
                         f"{time.monotonic() - began:.0f} s (every index in place), then "
                         "ANALYZE; PUMP_HORIZON_SECONDS=900, the default")
    pump = container.pump
    pump.run()  # connects: the pool, the queue URL
    idle = []
    for _ in range(IDLE_RUNS):
        started = time.perf_counter()
        report = pump.run()
        idle.append((time.perf_counter() - started) * 1000)
        if report.enqueued:
            raise RuntimeError(f"an idle pump run enqueued {report.enqueued} emails")
    section.add(f"idle run, {stored:,} stored, none due (median of {IDLE_RUNS})",
                median(idle), "ms", f"< {TARGET_IDLE_MS:g} ms", median(idle) < TARGET_IDLE_MS)
    section.add("idle run, slowest", max(idle), "ms")
    section.details += ["plans with none due:", *_plans(container)]
    busy = []
    for _ in range(DUE_RUNS):
        with container.engine.begin() as connection:
            connection.execute(FINISH_QUEUED)
            connection.execute(MAKE_DUE, {"count": due})
        started = time.perf_counter()
        report = pump.run()
        busy.append((time.perf_counter() - started) * 1000)
        if report.enqueued != due:
            raise RuntimeError(f"the pump enqueued {report.enqueued} of {due} due emails")
    section.add(f"run with {due:,} due ({report.messages} SQS messages), median of "
                f"{DUE_RUNS}", median(busy), "ms")
    section.details += ["", f"plans with {due:,} due:", *_plans(container, make_due=due)]


def _store(container: bootstrap.Container, count: int) -> None:
    with container.engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        user = connection.execute(text(
            "INSERT INTO users (email) VALUES ('pump@example.com') RETURNING id")).scalar_one()
        sender = connection.execute(text(
            "INSERT INTO senders (user_id, email) VALUES (:u, 'pump@example.com') RETURNING id"),
            {"u": user}).scalar_one()
        batch = connection.execute(text("""
            INSERT INTO batches (user_id, sender_id, subject, body, start_time, delay_ms,
                                 hourly_limit, email_count, estimated_end_time)
            VALUES (:u, :s, 'Pump', '<p>Pump</p>', now(), 100, 100000, :n, now())
            RETURNING id"""), {"u": user, "s": sender, "n": count}).scalar_one()
        connection.execute(STORE, {"batch_id": batch, "user_id": user, "sender_id": sender,
                                   "count": count})
    with container.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE emails")
        connection.commit()


def _plans(container: bootstrap.Container, make_due: int = 0) -> list[str]:
    """EXPLAIN ANALYZE of each pump query, in a transaction that is rolled back."""
    now, settings = datetime.now(UTC), container.settings
    lost_before = now - timedelta(seconds=settings.PUMP_LOST_AFTER_SECONDS)
    horizon_end = now + timedelta(seconds=settings.PUMP_HORIZON_SECONDS)
    queries: list[tuple[str, Any, dict[str, Any]]] = [
        ("take back expired leases", ledger.TAKE_BACK_EXPIRED_LEASES, {"now": now}),
        ("take back lost messages", ledger.TAKE_BACK_LOST_MESSAGES,
         {"now": now, "lost_before": lost_before}),
        ("count in flight", ledger.COUNT_IN_FLIGHT, {}),
        ("claim due", ledger.CLAIM_DUE, {"horizon_end": horizon_end, "limit": 500}),
    ]
    lines: list[str] = []
    with container.engine.connect() as connection:
        transaction = connection.begin()
        try:
            if make_due:
                connection.execute(FINISH_QUEUED)
                connection.execute(MAKE_DUE, {"count": make_due})
            for name, statement, params in queries:
                lines += [f"-- {name}", *_explain(connection, statement, params)]
        finally:
            transaction.rollback()
    return lines


def _explain(connection: Connection, statement: Any, params: dict[str, Any]) -> list[str]:
    rows = connection.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {statement.text}"), params)
    return [f"  {row[0]}" for row in rows]

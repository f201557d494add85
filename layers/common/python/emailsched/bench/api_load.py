"""The API under load: 50 concurrent clients on the list and stats routes of a real
`emailsched api` process, with one user holding many stored emails.

The emails are written straight into the product's database with generate_series (every
index in place, then ANALYZE), not through the API: about 60 % sent and 2 % failed over the
last week, the rest scheduled over the coming days, in batches of 10,000. Each client is a
thread with its own keep-alive HTTP connection that asks the four routes in turn, with no
pause between requests, for a fixed time (a closed loop: latency and request rate trade
against each other, so both are printed). `--verbose` adds the EXPLAIN (ANALYZE, BUFFERS)
plan of every query behind those routes.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy
from sqlalchemy import Connection, text

from emailsched.adapters.db import reads
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import running_product
from emailsched.bench.report import Section
from emailsched.bench.stats import percentile

CLIENTS = 50
TARGET_P99_MS = 300.0
BATCH_SIZE = 10_000
ROUTES = ("/emails/scheduled", "/emails/sent", "/emails/stats", "/batches")
USER = "load@example.com"

STORE_EMAILS = text("""
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at,
                        status, attempts, sent_at, finished_at, failure_reason)
    SELECT b.id, :user_id, :sender_id, mod(i, :batch_size), 'r' || i || '@example.com',
           t.due, t.due, t.status, CASE WHEN t.status = 'scheduled' THEN 0 ELSE 1 END,
           CASE WHEN t.status = 'sent' THEN t.due END,
           CASE WHEN t.status <> 'scheduled' THEN t.due END,
           CASE WHEN t.status = 'failed' THEN 'smtp 550: mailbox unavailable' END
    FROM generate_series(0, :count - 1) AS i
    JOIN LATERAL (SELECT CASE WHEN mod(i, 100) < 60 THEN 'sent' WHEN mod(i, 100) < 62 THEN 'failed'
                              ELSE 'scheduled' END AS status) s ON true
    JOIN LATERAL (SELECT CASE WHEN s.status = 'scheduled'
                              THEN now() + mod(i, 500000) * interval '1 second'
                              ELSE now() - mod(i, 604800) * interval '1 second' END AS due,
                         s.status) t ON true
    JOIN batches b ON b.user_id = :user_id AND b.subject = 'Load ' || (i / :batch_size)
""")
STORE_BATCHES = text("""
    INSERT INTO batches (user_id, sender_id, subject, body, start_time, delay_ms, hourly_limit,
                         email_count, estimated_end_time, created_at)
    SELECT :user_id, :sender_id, 'Load ' || n, '<p>Load</p>', now() - interval '7 days', 100,
           100000, :batch_size, now() + interval '6 days', now() - n * interval '1 minute'
    FROM generate_series(0, :batches - 1) AS n
""")


def run_api_load(env: BenchEnvironment, sizes: Sequence[int], seconds: float,
                 section: Section) -> None:
    """One product per size (smallest first); the p99 target applies to the largest."""
    for stored in sorted(sizes):
        _run_one(env, stored, seconds, section, targeted=stored == max(sizes))


def _run_one(env: BenchEnvironment, stored: int, seconds: float, section: Section,
             targeted: bool) -> None:
    with running_product(env, "api_load") as product:
        api = product.client(USER)
        token = str(api.session.headers["Authorization"])
        api.close()
        engine = sqlalchemy.create_engine(product.database_url)
        try:
            began = time.monotonic()
            user_id = _store(engine, stored)
            section.notes.append(f"{stored:,} emails of one user stored with generate_series "
                                 f"in {time.monotonic() - began:.0f} s, then ANALYZE")
            _warm_up(product.cluster.api_url, token)
            latencies, errors = _load(product.cluster.api_url, token, seconds)
            _report(latencies, errors, seconds, section, stored, targeted)
            if targeted:
                with engine.connect() as connection:
                    section.details += _plans(connection, user_id)
        finally:
            engine.dispose()


def _store(engine: sqlalchemy.Engine, count: int) -> uuid.UUID:
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        user_id = connection.execute(text("SELECT id FROM users WHERE email = :e"),
                                     {"e": USER}).scalar_one()
        sender_id = connection.execute(text(
            "INSERT INTO senders (user_id, email) VALUES (:u, :e) RETURNING id"),
            {"u": user_id, "e": USER}).scalar_one()
        params = {"user_id": user_id, "sender_id": sender_id, "batch_size": BATCH_SIZE,
                  "batches": -(-count // BATCH_SIZE), "count": count}
        connection.execute(STORE_BATCHES, params)
        connection.execute(STORE_EMAILS, params)
    # VACUUM sets the visibility map that index-only scans need; it runs outside a transaction.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE emails")
        connection.exec_driver_sql("ANALYZE batches")
    return uuid.UUID(str(user_id))


def _warm_up(api_url: str, token: str) -> None:
    """One request per route first: the API's first answers pay for imports, connections
    and the first exact counts."""
    parts = urlsplit(api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                            timeout=120)
    for route in ROUTES:
        connection.request("GET", route, headers={"Authorization": token})
        connection.getresponse().read()
    connection.close()


def _load(api_url: str, token: str, seconds: float) -> tuple[dict[str, list[float]], list[str]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)
    parts = urlsplit(api_url)

    def client(n: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=60)
        mine: dict[str, list[float]] = defaultdict(list)
        headers = {"Authorization": token, "Connection": "keep-alive"}
        start.wait()
        deadline = time.monotonic() + seconds
        i = n
        while time.monotonic() < deadline:
            route = ROUTES[i % len(ROUTES)]
            i += 1
            began = time.perf_counter()
            connection.request("GET", route, headers=headers)
            answer = connection.getresponse()
            answer.read()
            mine[route].append((time.perf_counter() - began) * 1000)
            if answer.status != 200:
                with lock:
                    errors.append(f"{route}: {answer.status}")
        connection.close()
        with lock:
            for route, values in mine.items():
                latencies[route].extend(values)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join(seconds + 120)
    return latencies, errors


def _report(latencies: dict[str, list[float]], errors: list[str], seconds: float,
            section: Section, stored: int, targeted: bool) -> None:
    every = [v for values in latencies.values() for v in values]
    if not every:
        raise RuntimeError("no request finished")
    at = f"{stored:,} stored"
    for route in ROUTES:
        values = latencies.get(route) or [0.0]
        section.add(f"{at}: {route} p50 / p95 / p99",
                    f"{percentile(values, 0.5):.0f} / {percentile(values, 0.95):.0f} / "
                    f"{percentile(values, 0.99):.0f}", "ms")
    p99 = percentile(every, 0.99)
    section.add(f"{at}: all routes p99, {CLIENTS} clients", p99, "ms",
                f"<= {TARGET_P99_MS:g} ms" if targeted else "",
                p99 <= TARGET_P99_MS and not errors if targeted else None)
    section.add(f"{at}: all routes p50", percentile(every, 0.5), "ms")
    section.add(f"{at}: requests per second", len(every) / seconds, "req/s")
    section.add(f"{at}: errors", len(errors), "", "0", not errors)
    if targeted:
        section.notes.append(
            f"{CLIENTS} keep-alive clients, each asking {', '.join(ROUTES)} in turn without "
            f"pause for {seconds:g} s, after one warm-up request per route; the target "
            "applies at the largest size")


def _plans(connection: Connection, user_id: uuid.UUID) -> list[str]:
    now = datetime.now(UTC)
    base = {"user_id": user_id, "batch_id": None, "limit": 20, "offset": 0}
    queries: list[tuple[str, Any, dict[str, Any]]] = [
        ("list pending (GET /emails/scheduled)", reads.LIST_PENDING, base),
        ("count pending", reads.COUNT_PENDING, base),
        ("list finished (GET /emails/sent)", reads.LIST_FINISHED, base),
        ("count finished", reads.COUNT_FINISHED, base),
        ("stats by status (GET /emails/stats)", reads.STATS_BY_STATUS, base),
        ("stats per hour", reads.STATS_PER_HOUR,
         {**base, "since": now.replace(minute=0, second=0, microsecond=0)
          - timedelta(hours=23)}),
        ("stats sent in the last hour", reads.STATS_SENT_SINCE,
         {**base, "since": now - timedelta(hours=1)}),
        ("list batches (GET /batches)", reads.LIST_BATCHES, base),
        ("count batches", reads.COUNT_BATCHES, base),
    ]
    lines = ["plans of the queries behind the routes (EXPLAIN (ANALYZE, BUFFERS)):"]
    for name, statement, params in queries:
        lines.append(f"-- {name}")
        rows = connection.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {statement.text}"), params)
        lines += [f"  {row[0]}" for row in rows]
    return lines

"""Webhooks: events from the change to a local receiver's 2xx, through the outbox and the
dispatcher (`emailsched webhooks`, a process of its own, as in `emailsched dev`).

Emails are stored `sending` in a database of their own; a producer moves them to `sent`
at a steady pace (the point of no return's change, whose trigger writes the outbox row in
the same transaction), and the receiver notes when each event arrives. Figures: events
delivered per second (first change to last delivery) and the latency from each change
(the event's timestamp, the email's sent_at) to its arrival. A second figure prices the
trigger for users with no subscription: the same UPDATE to `sent` with it and without.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import Engine, text

from emailsched.adapters.credentials import generate_local_key
from emailsched.adapters.db.engine import migrate
from emailsched.bench.environment import BenchEnvironment, free_port
from emailsched.bench.report import Section
from emailsched.bench.stats import median, percentile
from emailsched.bootstrap import Container
from emailsched.settings import Settings

EVENTS = 10_000
PACE_PER_SECOND = 1_250  # a little over the target: a dispatcher that keeps up shows it
TICK_SECONDS = 0.1
TARGET_RATE, TARGET_P99 = 1_000.0, 2.0
COST_ROWS = 10_000
COST_ROUNDS = 5

SETUP = text("""
    WITH u AS (INSERT INTO users (email) VALUES (:email) RETURNING id),
    s AS (INSERT INTO senders (user_id, email) SELECT id, :email FROM u RETURNING id, user_id),
    b AS (INSERT INTO batches (user_id, sender_id, subject, body, start_time, delay_ms,
                               hourly_limit, email_count, estimated_end_time)
          SELECT user_id, id, 'Hooks', '<p>Hooks</p>', now(), 0, 100000, :n, now() FROM s
          RETURNING id, user_id, sender_id)
    INSERT INTO emails (batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at,
                        status)
    SELECT b.id, b.user_id, b.sender_id, i, 'r' || i || '@example.com', now(), now(),
           'sending'
    FROM b, generate_series(1, :n) AS i RETURNING user_id
""")
SEND = text("""
    UPDATE emails SET status = 'sent', sent_at = clock_timestamp(), finished_at = now()
    WHERE id IN (SELECT id FROM emails WHERE user_id = :user_id AND status = 'sending'
                 ORDER BY seq LIMIT :n)
""")


def run_webhooks(env: BenchEnvironment, section: Section) -> None:
    database_url = env.create_database("webhooks")
    values = env.settings(database_url, CREDENTIALS_KEY=generate_local_key(),
                          WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    given: dict[str, Any] = dict(values)
    container = Container(Settings(**given))
    try:
        migrate(container.engine)
        _trigger_cost(container.engine, section)
        _delivery(container, values, section)
    finally:
        container.close()
        env.drop_database(database_url)


def _store(engine: Engine, email: str, count: int) -> Any:
    with engine.begin() as c:
        c.exec_driver_sql("SET LOCAL synchronous_commit = off")
        return c.execute(SETUP, {"email": email, "n": count}).scalars().first()


def _timed_send(engine: Engine, user_id: Any, count: int) -> float:
    started = time.perf_counter()
    with engine.begin() as c:
        c.execute(SEND, {"user_id": user_id, "n": count})
    return time.perf_counter() - started


def _switch(engine: Engine, on: bool) -> None:
    with engine.begin() as c:
        c.exec_driver_sql(f"ALTER TABLE emails {'ENABLE' if on else 'DISABLE'} "
                          "TRIGGER webhook_email_sent")


def _trigger_cost(engine: Engine, section: Section) -> None:
    """The send path's price of the email.sent trigger for a user with no endpoint:
    medians of alternating runs, since the machine's load moves under any one of them."""
    runs: dict[bool, list[float]] = {True: [], False: []}
    for round_number in range(COST_ROUNDS):
        for on in (True, False):
            _switch(engine, on)
            user = _store(engine, f"{round_number}{on}@cost.example", COST_ROWS)
            runs[on].append(_timed_send(engine, user, COST_ROWS))
    _switch(engine, True)
    with_trigger, without = median(runs[True]), median(runs[False])
    extra = (with_trigger - without) / COST_ROWS * 1e6
    section.add(f"UPDATE to sent, {COST_ROWS:,} rows, no subscription: with the trigger "
                f"(median of {COST_ROUNDS})",
                with_trigger * 1000, "ms")
    section.add("the same without it", without * 1000, "ms")
    section.add("the trigger's cost per sent email (no subscription)", round(extra, 1), "µs")


def _delivery(container: Container, values: dict[str, str], section: Section) -> None:
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "emailsched.bench.webhook_receiver", str(port), str(EVENTS)],
        stdout=subprocess.PIPE, text=True)
    user_id = _store(container.engine, "hooks@example.com", EVENTS)
    container.webhooks.create(user_id, f"http://127.0.0.1:{port}/hook", ["email.sent"],
                              "bench")
    dispatcher = subprocess.Popen(
        [sys.executable, "-m", "emailsched.cli", "webhooks", "--interval", "0.05"],
        env={**os.environ, **values}, stdout=subprocess.DEVNULL)
    try:
        assert receiver.stdout is not None
        receiver.stdout.readline()  # listening
        time.sleep(3)  # the dispatcher's start (imports, pool)
        first = time.time()
        _produce(container.engine, user_id)
        out, _ = receiver.communicate(timeout=180)
    finally:
        for process in (dispatcher, receiver):
            process.terminate()
            process.wait(30)
    found = json.loads(out)
    latencies = found["latencies"]
    rate = EVENTS / (found["last"] - first)
    p99 = percentile(latencies, 0.99)
    section.add(f"{EVENTS:,} email.sent events delivered, paced at {PACE_PER_SECOND:,}/s",
                round(rate), "events/s", f">= {TARGET_RATE:,.0f}", rate >= TARGET_RATE)
    section.add("change to delivery, p50", percentile(latencies, 0.5), "s")
    section.add("change to delivery, p99", p99, "s", f"<= {TARGET_P99:g} s", p99 <= TARGET_P99)
    section.notes.append("one endpoint; the receiver is a process of its own (http.server, "
                         "204); the dispatcher is `emailsched webhooks --interval 0.05`; the "
                         f"last event arrived {found['last'] - first:.1f} s after the first "
                         "change")


def _produce(engine: Engine, user_id: Any) -> None:
    per_tick = int(PACE_PER_SECOND * TICK_SECONDS)
    started, done = time.monotonic(), 0
    while done < EVENTS:
        with engine.begin() as c:
            c.execute(SEND, {"user_id": user_id, "n": min(per_tick, EVENTS - done)})
        done += per_tick
        time.sleep(max(0.0, started + done / PACE_PER_SECOND - time.monotonic()))

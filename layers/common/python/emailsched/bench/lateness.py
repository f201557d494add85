"""Lateness: when each unthrottled email reached the sink, minus when it was due.

Two batches, from two senders, with the pump's horizon shortened to HORIZON_SECONDS so that
"beyond the horizon" fits in a bounded run: one due within the horizon when scheduled (the
pump enqueues it at once with a delay), one due after it (the pump enqueues it on a later
run). Each spreads its emails evenly over SPREAD_SECONDS.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from emailsched.bench.client import batch_body, recipients
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import Product, running_product
from emailsched.bench.report import Section
from emailsched.bench.stats import percentile
from emailsched.bench.throughput import PUMP_INTERVAL_SECONDS, WORKER_CONCURRENCY

HORIZON_SECONDS = 10
SPREAD_SECONDS = 5.0
INSIDE_LEAD_SECONDS = 3.0
BEYOND_LEAD_SECONDS = HORIZON_SECONDS + 10.0
WORKERS = 2
TARGET_P99_SECONDS = 1.5
INSIDE, BEYOND = "inside@example.com", "beyond@example.com"


def run_lateness(env: BenchEnvironment, emails: int, section: Section) -> None:
    with running_product(env, "lateness", MIN_DELAY_BETWEEN_EMAILS_MS=0,
                         PUMP_HORIZON_SECONDS=HORIZON_SECONDS) as product:
        product.start_workers(WORKERS, WORKER_CONCURRENCY)
        product.cluster.start_pump(PUMP_INTERVAL_SECONDS)
        product.wait_until_polling()
        late = _measure(product, emails)
    for label, sender in (("inside the horizon", INSIDE), ("beyond the horizon", BEYOND)):
        values = late[sender]
        p99 = percentile(values, 0.99)
        section.add(f"{label}: p50", percentile(values, 0.50), "s")
        section.add(f"{label}: p95", percentile(values, 0.95), "s")
        section.add(f"{label}: p99", p99, "s", f"< {TARGET_P99_SECONDS:g} s",
                    p99 < TARGET_P99_SECONDS)
        section.add(f"{label}: max", max(values), "s")
        early = sum(1 for v in values if v < 0)
        section.add(f"{label}: sent before due", early, "emails", "0", early == 0)
    section.notes.append(
        f"{emails} emails per batch, spread over {SPREAD_SECONDS:g} s, due "
        f"{INSIDE_LEAD_SECONDS:g} s and {BEYOND_LEAD_SECONDS:g} s after scheduling; "
        f"PUMP_HORIZON_SECONDS={HORIZON_SECONDS}, pump every {PUMP_INTERVAL_SECONDS:g} s; "
        f"{WORKERS} workers x {WORKER_CONCURRENCY} pollers; no limits, no minimum gap")
    section.notes.append("sent = accepted at the sink; due = the email's scheduledTime")


def _measure(product: Product, emails: int) -> dict[str, list[float]]:
    api = product.client("lateness@example.com")
    delay_ms = int(SPREAD_SECONDS * 1000 / max(1, emails - 1))
    now = datetime.now(UTC)
    for sender, lead in ((INSIDE, INSIDE_LEAD_SECONDS), (BEYOND, BEYOND_LEAD_SECONDS)):
        api.schedule(batch_body(recipients(emails, sender[0]),
                                now + timedelta(seconds=lead), delay_ms=delay_ms,
                                sender=sender))
    api.close()
    deadline = BEYOND_LEAD_SECONDS + SPREAD_SECONDS + 60
    seen = product.sink.wait_for(2 * emails, timeout=deadline)
    if seen < 2 * emails:
        raise RuntimeError(f"{seen} of {2 * emails} emails arrived")
    time.sleep(1)  # anything sent twice would show now
    due = product.due_times()
    late: dict[str, list[float]] = {INSIDE: [], BEYOND: []}
    for accepted in product.sink.accepted():
        late[accepted.mail_from].append(accepted.at - due[accepted.message_id])
    if len(late[INSIDE]) + len(late[BEYOND]) != 2 * emails:
        raise RuntimeError(f"the sink accepted {seen} messages for {2 * emails} emails")
    return late

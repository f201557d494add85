"""Limits under load: three senders at 50 emails per 10 s window, all due from the same
window on, through four workers. The sink's clock decides which window a send fell in: the
largest count of one sender in any window must be the limit and never more, and every
window before a sender's last should run at the limit.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

from emailsched.bench.client import batch_body, recipients
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import Product, running_product
from emailsched.bench.report import Section
from emailsched.bench.sink import Accepted
from emailsched.bench.stats import median
from emailsched.bench.throughput import PUMP_INTERVAL_SECONDS, WORKER_CONCURRENCY

WINDOW_SECONDS = 10
LIMIT = 50
SENDERS = ("alpha@example.com", "bravo@example.com", "charlie@example.com")
WORKERS = 4
# Room to schedule all three batches before the window they start in.
LEAD_SECONDS = 2.0


def run_limits(env: BenchEnvironment, per_sender: int, section: Section) -> None:
    with running_product(env, "limits", RATE_WINDOW_SECONDS=WINDOW_SECONDS,
                         MIN_DELAY_BETWEEN_EMAILS_MS=0) as product:
        product.start_workers(WORKERS, WORKER_CONCURRENCY)
        product.cluster.start_pump(PUMP_INTERVAL_SECONDS)
        product.wait_until_polling()
        _schedule(product, per_sender)
        expected = per_sender * len(SENDERS)
        windows = -(-per_sender // LIMIT)
        seen = product.sink.wait_for(expected, timeout=windows * WINDOW_SECONDS + 90)
        time.sleep(1)  # anything sent twice would show now
        accepted = product.sink.accepted()
        statuses = product.statuses()
    if seen < expected:
        raise RuntimeError(f"{seen} of {expected} emails arrived; ledger {statuses}")
    counts = Counter((a.mail_from, int(a.at // WINDOW_SECONDS)) for a in accepted)
    over = sum(1 for n in counts.values() if n > LIMIT)
    section.add("largest count of one sender in a window", max(counts.values()), "emails",
                f"= {LIMIT}, never more", max(counts.values()) == LIMIT)
    section.add("windows over the limit", over, "", "0", over == 0)
    full = _full_windows(counts)
    at_limit = sum(1 for n in full if n == LIMIT)
    section.add("full windows at the limit", f"{at_limit} of {len(full)}", "",
                "all", at_limit == len(full) if full else None)
    if full:
        section.add("fill of full windows, lowest", min(full) / LIMIT * 100, "%")
    bursts = _burst_seconds(accepted)
    burst = f"time from a window's start to its last send ({len(SENDERS) * LIMIT} emails)"
    section.add(f"{burst}, median", median(bursts), "s")
    section.add(f"{burst}, max", max(bursts), "s")
    duplicates = len(accepted) - len({a.message_id for a in accepted})
    section.add("duplicate sends", duplicates, "", "0", duplicates == 0)
    section.add("emails failed", statuses.get("failed", 0), "", "0",
                statuses.get("failed", 0) == 0)
    section.notes.append(
        f"{len(SENDERS)} senders x {per_sender:,} emails, hourlyLimit {LIMIT} with "
        f"RATE_WINDOW_SECONDS={WINDOW_SECONDS}, delayMs 0, no minimum gap, all starting at "
        f"one window; {WORKERS} workers x {WORKER_CONCURRENCY} pollers; windows counted "
        "by the time the sink accepted each email")
    section.details.append("per window (start, counts per sender): " + "; ".join(
        f"{w * WINDOW_SECONDS % 1000:03d}: " + "/".join(str(counts.get((s, w), 0))
                                                        for s in SENDERS)
        for w in sorted({w for _, w in counts})))


def _schedule(product: Product, per_sender: int) -> float:
    """Schedules every sender's batch from the next window that leaves time to schedule them
    all; that window's start (epoch seconds)."""
    ready = time.time() + LEAD_SECONDS
    start = ready - ready % WINDOW_SECONDS + WINDOW_SECONDS
    api = product.client("limits@example.com")
    for number, sender in enumerate(SENDERS):
        api.schedule(batch_body(recipients(per_sender, f"l{number}-"),
                                datetime.fromtimestamp(start, UTC), limit=LIMIT,
                                sender=sender))
    api.close()
    return start


def _full_windows(counts: Counter[tuple[str, int]]) -> list[int]:
    """Each sender's count in every window from its first to the one before its last."""
    full = []
    for sender in SENDERS:
        windows = sorted(w for s, w in counts if s == sender)
        full += [counts.get((sender, w), 0) for w in range(windows[0], windows[-1])]
    return full


def _burst_seconds(accepted: list[Accepted]) -> list[float]:
    """For each window, from its start to the last email accepted in it."""
    last: dict[int, float] = {}
    for a in accepted:
        window = int(a.at // WINDOW_SECONDS)
        last[window] = max(last.get(window, 0.0), a.at)
    return [at - window * WINDOW_SECONDS for window, at in last.items()]

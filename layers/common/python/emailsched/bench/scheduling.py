"""Scheduling: the wall time of POST /emails/schedule, through HTTP, to the 201.

Each request has its own sender, so no batch plans around another one, and starts a day
ahead with the product's default limits (SPEC.md: 200 an hour, a second apart), so the
plan has real work to do. The body is encoded beforehand: the client's JSON encoding is
not the server's time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from emailsched.bench.client import batch_body, recipients
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import running_product
from emailsched.bench.report import Section
from emailsched.bench.stats import median

TARGETS_SECONDS = {10_000: 1.5, 100_000: 10.0}
WARM_UP_RECIPIENTS = 100


def run_scheduling(env: BenchEnvironment, sizes: tuple[int, ...], repeats: int,
                   section: Section) -> None:
    with running_product(env, "scheduling") as product:
        api = product.client("scheduling@example.com")
        start = datetime.now(UTC) + timedelta(days=1)
        # The first request pays for imports and connections; no one waits for that twice.
        api.schedule(batch_body(recipients(WARM_UP_RECIPIENTS), start, delay_ms=1000,
                                limit=200, sender="warmup@example.com"))
        for size in sizes:
            times = []
            for attempt in range(repeats):
                body = batch_body(recipients(size), start, delay_ms=1000, limit=200,
                                  sender=f"s{size}-{attempt}@example.com")
                payload = json.dumps(body).encode()
                answer, seconds = api.timed_schedule(payload)
                if answer["emailCount"] != size:
                    raise RuntimeError(f"scheduled {answer['emailCount']} of {size}")
                times.append(seconds)
            target = TARGETS_SECONDS.get(size)
            section.add(f"{size:,} recipients", median(times), "s",
                        f"< {target:g} s" if target else "",
                        median(times) < target if target else None)
            section.details.append(f"{size:,} recipients, each request (s): "
                                   + ", ".join(f"{t:.3f}" for t in times)
                                   + f"; body {len(payload) / 1e6:.1f} MB")
        api.close()
    section.notes.append(f"median of {repeats} request(s) per size after one warm-up; each "
                         "from a new sender, starting a day ahead, delayMs 1000, hourlyLimit "
                         "200")

"""The Redis limiter on real Redis, seeded from the real ledger after Redis loses its keys."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import sqlalchemy

from emailsched.adapters.clock import SystemClock
from emailsched.adapters.db.engine import make_engine
from emailsched.adapters.redis_limiter import RedisRateLimiter
from emailsched.domain.windows import days_counted, windows_counted
from emailsched.ports import Seed, SeedSource, SendLimits
from tests.support.stack import Api, Pipeline, Services, prepare

pytestmark = pytest.mark.integration
WINDOW = 10
DAY = WINDOW  # DAILY_WINDOW_SECONDS of the day-seed test: a day is one window


def flush(container) -> None:  # type: ignore[no-untyped-def]
    """What a Redis restart or FLUSHALL does to this deployment's keys."""
    client = redis.Redis.from_url(container.settings.REDIS_URL)
    keys = list(client.scan_iter(f"{container.settings.REDIS_KEY_PREFIX}*"))
    if keys:
        client.delete(*keys)


def mid_window_ms() -> int:
    """Now, or a moment later so that there are at least 6 s of the window left."""
    now = time.time()
    if now % WINDOW > WINDOW - 6:
        time.sleep(WINDOW - now % WINDOW + 0.1)
    return int(time.time() * 1000)


def schedule_and_mark_sent(container, sent: int, held: int) -> str:  # type: ignore[no-untyped-def]
    """A sender with `sent` emails sent this window and `held` in a worker's hands."""
    pipeline = Pipeline(container, pollers=0).start()
    pipeline.stop.set()
    try:
        api = Api(pipeline.url)
        answer = api.post("/emails/schedule", {
            "subject": "s", "body": "b", "recipients": [f"r{i}@x.com" for i in range(10)],
            "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
            "sender": {"email": "s@x.com"}})
        assert answer.status_code == 201, answer.text
    finally:
        pipeline.close()
    engine = make_engine(container.settings.DATABASE_URL)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE emails SET status = 'sent', sent_at = now() WHERE seq < :n"), {"n": sent})
        connection.execute(sqlalchemy.text(
            "UPDATE emails SET status = 'sending' WHERE seq >= :a AND seq < :b"),
            {"a": sent, "b": sent + held})
        sender_id = connection.execute(sqlalchemy.text("SELECT id FROM senders")).scalar_one()
    engine.dispose()
    return str(sender_id)


def limits(hourly: int, **more: Any) -> SendLimits:
    return SendLimits(hourly=hourly, **more)


def test_after_a_flush_the_window_is_rebuilt_from_the_ledger(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW))
    mid_window_ms()  # first: the sends below and the checks must share one window
    sender = schedule_and_mark_sent(container, sent=3, held=1)
    flush(container)
    granted = [container.limiter.acquire(sender, limits(6)).granted for _ in range(5)]
    # 3 sent + 1 held by a worker leave 2 of 6.
    assert granted == [True, True, False, False, False]


def test_after_a_flush_the_day_is_rebuilt_from_the_ledger(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW,
                                          DAILY_WINDOW_SECONDS=DAY))
    mid_window_ms()  # and mid-day
    sender = schedule_and_mark_sent(container, sent=3, held=1)
    flush(container)
    capped = limits(1000, daily=6)
    # The window is rebuilt too; the day's 3 sent + 1 held leave 2 of 6.
    assert container.limiter.acquire(sender, capped, wanted=5).slots == 2
    refused = container.limiter.acquire(sender, capped)
    assert not refused.granted and 0 < refused.wait_ms <= DAY * 1000
    # A window that Redis still knows, a day it lost: the day alone is seeded.
    client = redis.Redis.from_url(container.settings.REDIS_URL)
    client.delete(*client.scan_iter(f"{container.settings.REDIS_KEY_PREFIX}rl:*:d:*"))
    assert container.limiter.acquire(sender, capped, wanted=5).slots == 2


def test_a_new_window_starts_empty_without_asking_the_ledger(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW))
    sender = "7d1f0b0e-0000-4000-8000-000000000000"
    mid_window_ms()
    assert container.limiter.acquire(sender, limits(1)).granted  # seeds: nothing sent
    refused = container.limiter.acquire(sender, limits(1))
    assert not refused.granted and 0 < refused.wait_ms <= WINDOW * 1000
    time.sleep(refused.wait_ms / 1000 + 0.05)
    assert container.limiter.acquire(sender, limits(1)).granted


def test_the_minimum_gap_holds_between_two_sends(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW,
                                          MIN_DELAY_BETWEEN_EMAILS_MS=1000))
    sender = "7d1f0b0e-0000-4000-8000-000000000001"
    mid_window_ms()
    first = container.limiter.acquire(sender, limits(100))
    assert first.granted
    early = container.limiter.acquire(sender, limits(100))
    assert not early.granted
    assert early.wait_ms == first.granted_at_ms + 1000 - early.granted_at_ms
    time.sleep(early.wait_ms / 1000 + 0.02)
    assert container.limiter.acquire(sender, limits(100)).granted


def test_a_refunded_slot_can_be_taken_again(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW))
    sender = "7d1f0b0e-0000-4000-8000-000000000002"
    mid_window_ms()
    permit = container.limiter.acquire(sender, limits(1))
    assert permit.granted
    container.limiter.refund(sender, permit.granted_at_ms, limits(1))
    assert container.limiter.acquire(sender, limits(1)).granted


class SkewedClock(SystemClock):
    """The system clock, `skew_ms` off: what a worker with a wrong clock reads."""

    def __init__(self, skew_ms: int) -> None:
        self._skew = timedelta(milliseconds=skew_ms)

    def now(self) -> datetime:
        return super().now() + self._skew


class CountingSeed(SeedSource):
    """The ledger of the hammer test: every grant counted, by the limiter's time."""

    def __init__(self) -> None:
        self.grants: list[tuple[int, int]] = []  # (granted_at_ms, slots)
        self.lock = threading.Lock()

    def seed(self, sender_id: str, window_start: datetime,
             day_start: datetime | None = None) -> Seed:
        with self.lock:
            start_ms = int(window_start.timestamp() * 1000)
            day_ms = None if day_start is None else int(day_start.timestamp() * 1000)
            return Seed(sum(n for at, n in self.grants if at >= start_ms), None,
                        None if day_ms is None else
                        sum(n for at, n in self.grants if at >= day_ms))


def hammer(clients: list[RedisRateLimiter], seed: CountingSeed, sender: str,
           capped: SendLimits, seconds: float) -> None:
    """Each client asks for 1 to 3 slots as fast as it can, from its own thread."""
    stop = time.monotonic() + seconds

    def run(limiter: RedisRateLimiter, wanted: int) -> None:
        while time.monotonic() < stop:
            permit = limiter.acquire(sender, capped, wanted=wanted)
            if permit.granted:
                with seed.lock:
                    seed.grants.append((permit.granted_at_ms, permit.slots))
            else:
                time.sleep(min(permit.wait_ms, 20) / 1000)

    threads = [threading.Thread(target=run, args=(client, 1 + index % 3))
               for index, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def per_period(grants: list[tuple[int, int]], counted: Any) -> Counter[int]:
    totals: Counter[int] = Counter()
    for at_ms, slots in grants:
        for start in counted(at_ms):
            totals[start] += slots
    return totals


@pytest.mark.parametrize("flush_midway", [False, True])
def test_two_clients_whose_clocks_differ_by_5_s_never_overfill_a_window(
        services: Services, flush_midway: bool):
    """Clocks 5 s ahead and 5 s behind, windows of 2 s, a limit of 3: by Redis's time no
    window (with its spill) and no 3 s day counts more than its limit, with Redis losing
    its keys halfway or not."""
    client = redis.Redis.from_url(services.redis_url)
    prefix = f"skew-{uuid.uuid4().hex[:8]}:"
    seed = CountingSeed()
    clients = [RedisRateLimiter(client, seed, window_ms=2000, min_gap_ms=0, day_seconds=3,
                                prefix=prefix, clock=SkewedClock(skew))
               for skew in (5000, -5000, 5000, -5000)]
    sender = str(uuid.uuid4())
    capped = SendLimits(hourly=3, daily=5)
    hammer(clients, seed, sender, capped, 3.5)
    if flush_midway:
        client.delete(*client.scan_iter(f"{prefix}*"))
    hammer(clients, seed, sender, capped, 3.5)
    client.delete(*client.scan_iter(f"{prefix}*"))
    client.close()
    windows = per_period(seed.grants, lambda at: windows_counted(at, 2000))
    days = per_period(seed.grants, lambda at: days_counted(at, "UTC", 3))
    assert windows and max(windows.values()) <= 3, windows
    assert max(days.values()) <= 5, days
    # The limits were reached, not merely respected: full windows in most of the 7 s.
    assert sum(slots for _, slots in seed.grants) >= 8


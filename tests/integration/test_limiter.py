"""The Redis limiter on real Redis, seeded from the real ledger after Redis loses its keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy

from emailsched.adapters.db.engine import make_engine
from tests.support.stack import Api, Pipeline, Services, prepare

pytestmark = pytest.mark.integration
WINDOW = 10


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
        api.post("/emails/schedule", {
            "subject": "s", "body": "b", "recipients": [f"r{i}@x.com" for i in range(10)],
            "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
            "sender": {"email": "s@x.com"}})
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


def test_after_a_flush_the_window_is_rebuilt_from_the_ledger(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW))
    mid_window_ms()  # first: the sends below and the checks must share one window
    sender = schedule_and_mark_sent(container, sent=3, held=1)
    now = int(time.time() * 1000)
    flush(container)
    granted = [container.limiter.acquire(sender, 6, now + i).granted for i in range(5)]
    # 3 sent + 1 held by a worker leave 2 of 6.
    assert granted == [True, True, False, False, False]


def test_a_new_window_starts_empty_without_asking_the_ledger(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW))
    sender = "7d1f0b0e-0000-4000-8000-000000000000"
    now = mid_window_ms()
    assert container.limiter.acquire(sender, 1, now).granted  # seeds: nothing in the ledger
    refused = container.limiter.acquire(sender, 1, now + 1)
    assert not refused.granted and 0 < refused.wait_ms <= WINDOW * 1000
    next_window = now - now % (WINDOW * 1000) + WINDOW * 1000
    assert container.limiter.acquire(sender, 1, next_window + 1).granted


def test_the_minimum_gap_holds_between_two_sends(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW,
                                          MIN_DELAY_BETWEEN_EMAILS_MS=1000))
    sender = "7d1f0b0e-0000-4000-8000-000000000001"
    now = mid_window_ms()
    assert container.limiter.acquire(sender, 100, now).granted
    early = container.limiter.acquire(sender, 100, now + 400)
    assert not early.granted and early.wait_ms == 600
    assert container.limiter.acquire(sender, 100, now + 1000).granted


def test_a_refunded_slot_can_be_taken_again(services: Services):
    container = prepare(services.settings(RATE_WINDOW_SECONDS=WINDOW))
    sender = "7d1f0b0e-0000-4000-8000-000000000002"
    now = mid_window_ms()
    assert container.limiter.acquire(sender, 1, now).granted
    container.limiter.refund(sender, now)
    assert container.limiter.acquire(sender, 1, now + 1).granted

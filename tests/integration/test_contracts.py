"""Contract tests: each in-memory fake and its real adapter pass the same assertions, so
the unit tests that use the fakes test what production runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from emailsched.adapters.clock import SystemClock
from emailsched.adapters.queues import ensure_queues
from emailsched.adapters.redis_limiter import RedisRateLimiter
from emailsched.adapters.sqs import SqsQueue, make_sqs_client
from emailsched.fakes import FakeClock, FakeLimiter, InMemoryQueue, NoSeed
from emailsched.ports import OutgoingMessage, SendLimits
from tests.conftest import AWS_EMULATORS
from tests.support.stack import Services

pytestmark = pytest.mark.integration
# The Redis limiter takes the time from Redis, so the cases run on real time: each starts
# just after a window boundary and places its calls by sleeping (the fake's clock is the
# system clock, which on this host is Redis's). Waits are checked within SLACK_MS.
WINDOW_MS = 2_000
DAY_SECONDS = 4  # a short day (DAILY_WINDOW_SECONDS) of two windows
SLACK_MS = 80


class Timeline:
    """Times relative to the start of a rate window (or a day: `period_ms`) that begins
    after construction."""

    def __init__(self, period_ms: int = WINDOW_MS) -> None:
        now = time.time() * 1000
        self.t0 = now - now % period_ms + period_ms
        self.at(0)

    def at(self, offset_ms: int) -> None:
        """Sleep until t0 + offset_ms."""
        delay = (self.t0 + offset_ms) / 1000 - time.time()
        if delay > 0:
            time.sleep(delay)

    def elapsed_ms(self) -> float:
        return time.time() * 1000 - self.t0


def within(wait_ms: int, expected_ms: float) -> bool:
    return abs(wait_ms - expected_ms) <= SLACK_MS


@pytest.fixture(params=["fake", "redis"])
def make_limiter(request: pytest.FixtureRequest, services: Services) -> Iterator[Any]:
    """Limiters with a given default minimum gap, the fake or the Redis one."""
    if request.param == "fake":
        yield lambda gap_ms: FakeLimiter(WINDOW_MS, gap_ms, SystemClock(),
                                         day_seconds=DAY_SECONDS)
        return
    client = redis.Redis.from_url(services.redis_url)
    prefix = f"contract-{uuid.uuid4().hex[:8]}:"
    yield lambda gap_ms: RedisRateLimiter(client, NoSeed(), window_ms=WINDOW_MS,
                                          min_gap_ms=gap_ms, day_seconds=DAY_SECONDS,
                                          prefix=f"{prefix}{gap_ms}:")
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def limiter(make_limiter: Any) -> Any:
    return make_limiter(100)


def hourly(limit: int, **more: Any) -> SendLimits:
    return SendLimits(hourly=limit, **more)


def test_limiter_grants_up_to_the_limit_then_says_when_the_window_ends(limiter: Any):
    line = Timeline()
    grants = []
    for i in range(4):
        line.at(100 + 150 * i)
        grants.append(limiter.acquire("s", hourly(3)).granted)
    assert grants == [True, True, True, False]
    line.at(900)
    refused = limiter.acquire("s", hourly(3))
    assert not refused.granted and within(refused.wait_ms, WINDOW_MS - line.elapsed_ms())
    line.at(WINDOW_MS + 20)
    assert limiter.acquire("s", hourly(3)).granted


def test_limiter_keeps_the_minimum_gap(limiter: Any):
    line = Timeline()
    line.at(100)
    granted = limiter.acquire("s", hourly(10))
    assert granted.granted
    line.at(140)
    early = limiter.acquire("s", hourly(10))
    assert not early.granted and 0 < early.wait_ms <= 100
    assert early.wait_ms == granted.granted_at_ms + 100 - early.granted_at_ms
    line.at(100 + 100 + SLACK_MS)
    assert limiter.acquire("s", hourly(10)).granted


def test_limiter_tells_the_time_of_each_grant_by_its_own_clock(limiter: Any):
    line = Timeline()
    line.at(100)
    before = int(time.time() * 1000)
    permit = limiter.acquire("s", hourly(3))
    after = int(time.time() * 1000)
    assert permit.granted and before - 5 <= permit.granted_at_ms <= after + 5


def test_limiter_counts_a_send_at_the_very_end_of_a_window_in_the_next_one_too(limiter: Any):
    line = Timeline()  # spill: the window's last 200 ms
    line.at(WINDOW_MS - 120)
    assert limiter.acquire("s", hourly(1)).granted
    line.at(WINDOW_MS + 100)
    assert not limiter.acquire("s", hourly(1)).granted
    line.at(2 * WINDOW_MS + 20)
    assert limiter.acquire("s", hourly(1)).granted


def test_limiter_senders_do_not_share_and_refunds_return_a_slot(limiter: Any):
    line = Timeline()
    line.at(100)
    permit = limiter.acquire("a", hourly(1))
    assert permit.granted
    assert limiter.acquire("b", hourly(1)).granted
    limiter.refund("a", permit.granted_at_ms, hourly(1))
    line.at(300)
    assert limiter.acquire("a", hourly(1)).granted


def test_limiter_refunds_a_groups_slots_in_one_call_and_never_below_zero(make_limiter: Any):
    limiter = make_limiter(0)
    line = Timeline()
    line.at(100)
    permit = limiter.acquire("a", hourly(3), wanted=3)
    assert permit.slots == 3
    limiter.refund("a", permit.granted_at_ms, hourly(3), 2)
    assert limiter.acquire("a", hourly(3), wanted=3).slots == 2
    limiter.refund("a", permit.granted_at_ms, hourly(3), 10)  # more than counted: to zero
    assert limiter.acquire("a", hourly(3), wanted=5).slots == 3


def test_limiter_grants_several_slots_at_once_up_to_the_limit(make_limiter: Any):
    limiter = make_limiter(0)
    line = Timeline()
    line.at(100)
    assert limiter.acquire("s", hourly(5), wanted=3).slots == 3
    assert limiter.acquire("s", hourly(5), wanted=3).slots == 2
    refused = limiter.acquire("s", hourly(5), wanted=3)
    assert refused.slots == 0 and within(refused.wait_ms, WINDOW_MS - line.elapsed_ms())


def test_limiter_grants_one_slot_at_a_time_while_a_gap_applies(make_limiter: Any):
    limiter = make_limiter(100)
    line = Timeline()
    line.at(100)
    assert limiter.acquire("s", hourly(5), wanted=4).slots == 1
    assert limiter.acquire("s", hourly(5), wanted=4).slots == 0
    line.at(100 + 100 + SLACK_MS)
    assert limiter.acquire("s", hourly(5), wanted=4).slots == 1


def test_limiter_slots_granted_at_a_windows_end_count_in_the_next_one_too(make_limiter: Any):
    limiter = make_limiter(0)
    line = Timeline()
    line.at(WINDOW_MS - 120)
    assert limiter.acquire("s", hourly(5), wanted=3).slots == 3
    line.at(WINDOW_MS + 300)
    assert limiter.acquire("s", hourly(5), wanted=5).slots == 2
    assert limiter.acquire("s", hourly(5), wanted=1).slots == 0


def test_limiter_slots_spilled_into_a_window_limit_its_own_spill_too(make_limiter: Any):
    limiter = make_limiter(0)
    line = Timeline()
    line.at(WINDOW_MS - 120)
    assert limiter.acquire("s", hourly(5), wanted=4).slots == 4
    # The next window starts with 4 of 5 used: one more, and it spills in turn.
    line.at(2 * WINDOW_MS - 120)
    assert limiter.acquire("s", hourly(5), wanted=5).slots == 1
    line.at(2 * WINDOW_MS + 300)
    assert limiter.acquire("s", hourly(5), wanted=5).slots == 4


def test_limiter_daily_cap_of_3_in_a_short_day_waits_for_the_next_day(make_limiter: Any):
    limiter = make_limiter(0)
    capped = hourly(100, daily=3)
    line = Timeline(DAY_SECONDS * 1000)  # a day of DAY_SECONDS: two rate windows
    line.at(100)
    assert limiter.acquire("s", capped, wanted=2).slots == 2
    line.at(WINDOW_MS + 100)  # a new rate window, the same day
    assert limiter.acquire("s", capped, wanted=5).slots == 1
    refused = limiter.acquire("s", capped)
    assert not refused.granted
    assert within(refused.wait_ms, DAY_SECONDS * 1000 - line.elapsed_ms())
    line.at(DAY_SECONDS * 1000 + 20)
    assert limiter.acquire("s", capped, wanted=5).slots == 3
    assert not limiter.acquire("s", capped).granted


def test_limiter_daily_cap_counts_a_send_at_a_days_end_in_the_next_day(make_limiter: Any):
    limiter = make_limiter(0)
    capped = hourly(100, daily=3)
    line = Timeline(DAY_SECONDS * 1000)
    line.at(DAY_SECONDS * 1000 - 120)  # the day's last 200 ms (and its window's)
    assert limiter.acquire("s", capped, wanted=2).slots == 2
    line.at(DAY_SECONDS * 1000 + 100)
    assert limiter.acquire("s", capped, wanted=5).slots == 1


def test_limiter_daily_refund_returns_the_days_slot(make_limiter: Any):
    limiter = make_limiter(0)
    capped = hourly(100, daily=1)
    line = Timeline()
    line.at(100)
    permit = limiter.acquire("s", capped)
    assert permit.granted and not limiter.acquire("s", capped).granted
    limiter.refund("s", permit.granted_at_ms, capped)
    assert limiter.acquire("s", capped).granted


def test_limiter_sender_hourly_lower_than_the_batchs_holds(make_limiter: Any):
    limiter = make_limiter(0)
    line = Timeline()
    line.at(100)
    assert limiter.acquire("s", hourly(10, sender_hourly=2), wanted=5).slots == 2
    # Another batch of the same sender, with a higher limit: the sender's count holds.
    assert limiter.acquire("s", hourly(50, sender_hourly=2)).slots == 0
    # The batch's own lower limit holds over the sender's higher one.
    assert limiter.acquire("t", hourly(1, sender_hourly=10), wanted=5).slots == 1


def test_limiter_min_gap_is_per_sender(make_limiter: Any):
    limiter = make_limiter(0)  # the default: no gap
    line = Timeline()
    line.at(100)
    slow = hourly(100, min_gap_ms=500)
    assert limiter.acquire("slow", slow, wanted=3).slots == 1
    early = limiter.acquire("slow", slow)
    assert not early.granted and within(early.wait_ms, 500 - (line.elapsed_ms() - 100))
    assert limiter.acquire("fast", hourly(100), wanted=3).slots == 3
    assert limiter.acquire("fast", hourly(100), wanted=3).slots == 3
    line.at(100 + 500 + SLACK_MS)
    assert limiter.acquire("slow", slow).granted


@pytest.fixture(params=["fake", *AWS_EMULATORS])
def queue(request: pytest.FixtureRequest, services: Services) -> Any:
    """The in-memory fake, and the SQS adapter on moto's server and on LocalStack."""
    if request.param == "fake":
        return InMemoryQueue(FakeClock(datetime.now(UTC)))
    endpoint = (request.getfixturevalue("localstack_url") if request.param == "localstack"
                else services.aws_endpoint_url)
    client = make_sqs_client("us-east-1", endpoint)
    name = f"contract-{uuid.uuid4().hex[:8]}"
    ensure_queues(client, name)
    return SqsQueue(client, name)


def test_queue_delivers_hides_and_deletes(queue: Any):
    queue.send([OutgoingMessage('{"emails": ["a"]}'), OutgoingMessage('{"emails": ["b"]}')])
    first = queue.receive(10, 1)
    assert sorted(m.body for m in first) == ['{"emails": ["a"]}', '{"emails": ["b"]}']
    assert all(m.attributes["ApproximateReceiveCount"] == "1" for m in first)
    assert queue.receive(10, 0) == []  # hidden while a consumer holds them
    queue.change_visibility(first[0].receipt_handle, 0)
    again = queue.receive(10, 1)
    assert [m.body for m in again] == [first[0].body]
    assert again[0].attributes["ApproximateReceiveCount"] == "2"
    queue.delete([again[0].receipt_handle, first[1].receipt_handle])
    assert queue.receive(10, 0) == []

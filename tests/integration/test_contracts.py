"""Contract tests: each in-memory fake and its real adapter pass the same assertions, so
the unit tests that use the fakes test what production runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from emailsched.adapters.queues import ensure_queues
from emailsched.adapters.redis_limiter import RedisRateLimiter
from emailsched.adapters.sqs import SqsQueue, make_sqs_client
from emailsched.fakes import FakeClock, FakeLimiter, InMemoryQueue, NoSeed
from emailsched.ports import OutgoingMessage
from tests.conftest import AWS_EMULATORS
from tests.support.stack import Services

pytestmark = pytest.mark.integration
WINDOW_MS = 10_000
T0 = 1_800_000_000_000  # a window boundary


@pytest.fixture(params=["fake", "redis"])
def make_limiter(request: pytest.FixtureRequest, services: Services) -> Iterator[Any]:
    """Limiters with a given minimum gap, the fake or the Redis one."""
    if request.param == "fake":
        yield lambda gap_ms: FakeLimiter(WINDOW_MS, gap_ms)
        return
    client = redis.Redis.from_url(services.redis_url)
    prefix = f"contract-{uuid.uuid4().hex[:8]}:"
    yield lambda gap_ms: RedisRateLimiter(client, NoSeed(),
                                          window_ms=WINDOW_MS, min_gap_ms=gap_ms,
                                          prefix=f"{prefix}{gap_ms}:")
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def limiter(make_limiter: Any) -> Any:
    return make_limiter(100)


def test_limiter_grants_up_to_the_limit_then_says_when_the_window_ends(limiter: Any):
    grants = [limiter.acquire("s", 3, T0 + 1000 + 200 * i).granted for i in range(4)]
    assert grants == [True, True, True, False]
    refused = limiter.acquire("s", 3, T0 + 2000)
    assert not refused.granted and refused.wait_ms == WINDOW_MS - 2000
    assert limiter.acquire("s", 3, T0 + WINDOW_MS + 1).granted


def test_limiter_keeps_the_minimum_gap(limiter: Any):
    assert limiter.acquire("s", 10, T0 + 1000).granted
    early = limiter.acquire("s", 10, T0 + 1040)
    assert not early.granted and early.wait_ms == 60
    assert limiter.acquire("s", 10, T0 + 1100).granted


def test_limiter_counts_a_send_at_the_very_end_of_a_window_in_the_next_one_too(limiter: Any):
    assert limiter.acquire("s", 1, T0 + WINDOW_MS - 100).granted
    assert not limiter.acquire("s", 1, T0 + WINDOW_MS + 500).granted
    assert limiter.acquire("s", 1, T0 + 2 * WINDOW_MS + 500).granted


def test_limiter_senders_do_not_share_and_refunds_return_a_slot(limiter: Any):
    assert limiter.acquire("a", 1, T0 + 1000).granted
    assert limiter.acquire("b", 1, T0 + 1000).granted
    limiter.refund("a", T0 + 1000)
    assert limiter.acquire("a", 1, T0 + 2000).granted


def test_limiter_grants_several_slots_at_once_up_to_the_limit(make_limiter: Any):
    limiter = make_limiter(0)
    assert limiter.acquire("s", 5, T0 + 1000, wanted=3).slots == 3
    assert limiter.acquire("s", 5, T0 + 1000, wanted=3).slots == 2
    refused = limiter.acquire("s", 5, T0 + 1000, wanted=3)
    assert refused.slots == 0 and refused.wait_ms == WINDOW_MS - 1000


def test_limiter_grants_one_slot_at_a_time_while_a_gap_applies(make_limiter: Any):
    limiter = make_limiter(100)
    assert limiter.acquire("s", 5, T0 + 1000, wanted=4).slots == 1
    assert limiter.acquire("s", 5, T0 + 1050, wanted=4).slots == 0
    assert limiter.acquire("s", 5, T0 + 1100, wanted=4).slots == 1


def test_limiter_slots_granted_at_a_windows_end_count_in_the_next_one_too(make_limiter: Any):
    limiter = make_limiter(0)
    assert limiter.acquire("s", 5, T0 + WINDOW_MS - 100, wanted=3).slots == 3
    assert limiter.acquire("s", 5, T0 + WINDOW_MS + 500, wanted=5).slots == 2
    assert limiter.acquire("s", 5, T0 + WINDOW_MS + 600, wanted=1).slots == 0


def test_limiter_slots_spilled_into_a_window_limit_its_own_spill_too(make_limiter: Any):
    limiter = make_limiter(0)
    assert limiter.acquire("s", 5, T0 + WINDOW_MS - 100, wanted=4).slots == 4
    # The next window starts with 4 of 5 used: one more, and it spills in turn.
    assert limiter.acquire("s", 5, T0 + 2 * WINDOW_MS - 100, wanted=5).slots == 1
    assert limiter.acquire("s", 5, T0 + 2 * WINDOW_MS + 500, wanted=5).slots == 4


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

"""Emails of one message that are due together are claimed in one statement, and still
each reach the server in the window its slot counted in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from emailsched.adapters.db.ledger import ClaimedEmail
from emailsched.domain.retry import RetryPolicy, SendResult
from emailsched.fakes import FakeClock, FakeLimiter, InMemoryLedger, RecordingMailer
from emailsched.ports import OutgoingEmail
from emailsched.services.sender import SenderConfig, SenderService

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
SENDER = uuid.uuid4()


class CountingLedger(InMemoryLedger):
    def __init__(self) -> None:
        super().__init__()
        self.claims: list[int] = []

    def claim_many(self, ids: Sequence[uuid.UUID], lease_until: datetime,
                   token: uuid.UUID) -> list[ClaimedEmail]:
        self.claims.append(len(ids))
        return super().claim_many(ids, lease_until, token)


class SlowMailer(RecordingMailer):
    """Each send takes `seconds` of the fake clock."""

    def __init__(self, clock: FakeClock, seconds: float):
        super().__init__()
        self._clock, self._seconds = clock, seconds

    def send(self, email: OutgoingEmail, point_of_no_return: Callable[[], bool]) -> SendResult:
        self._clock.advance(self._seconds)
        return super().send(email, point_of_no_return)


def world(gap_ms: int = 0, send_seconds: float = 0.0):  # type: ignore[no-untyped-def]
    clock = FakeClock(T0)
    ledger, limiter = CountingLedger(), FakeLimiter(3_600_000, gap_ms)
    mailer = SlowMailer(clock, send_seconds)
    service = SenderService(
        ledger, limiter, mailer, clock, RetryPolicy(3, 2.0),  # type: ignore[arg-type]
        SenderConfig(lease=timedelta(seconds=60), early_hold=timedelta(seconds=2),
                     horizon=timedelta(seconds=900), receives_before_release=5,
                     message_id_domain="test"))
    return clock, ledger, limiter, mailer, service


def handle(service: SenderService, ids: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return service.handle(json.dumps({"emails": [str(i) for i in ids]}))


def recipients(mailer: RecordingMailer) -> list[str]:
    return [email.recipient for email in mailer.sent]


def test_ten_emails_due_now_are_claimed_in_one_statement_and_sent_in_order():
    _, ledger, limiter, mailer, service = world()
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(10)]
    assert handle(service, ids).done
    assert ledger.claims == [10]
    assert recipients(mailer) == [f"r{i}@example.com" for i in range(10)]
    assert limiter.count(str(SENDER), int(T0.timestamp() * 1000)) == 10


def test_with_a_minimum_gap_each_email_is_claimed_alone_when_its_turn_comes():
    clock, ledger, _, mailer, service = world(gap_ms=200)
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(3)]
    assert handle(service, ids).done
    assert ledger.claims == [1, 1, 1]
    assert clock.now() == T0 + timedelta(milliseconds=400)
    assert len(mailer.sent) == 3


def test_only_the_emails_already_due_join_a_group():
    _, ledger, _, mailer, service = world()
    ids = [ledger.add(sender_id=SENDER, due=T0 + timedelta(seconds=0.5 * (i // 2)), seq=i)
           for i in range(4)]
    assert handle(service, ids).done
    assert ledger.claims == [2, 2]
    assert len(mailer.sent) == 4


def test_emails_of_a_slow_group_are_released_refunded_and_each_sent_once():
    _, ledger, limiter, mailer, service = world(send_seconds=0.1)
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(6)]
    assert handle(service, ids).done
    assert recipients(mailer) == [f"r{i}@example.com" for i in range(6)]
    assert {ledger.status(i) for i in ids} == {"sent"}
    # Each group sends two (the second starts 100 ms after the grants, the third would
    # start at 200 ms, past the budget): its other slots were given back.
    assert ledger.claims == [6, 4, 2]
    assert limiter.count(str(SENDER), int(T0.timestamp() * 1000)) == 6


def test_a_group_stops_at_the_limit_and_the_rest_waits_for_the_next_window():
    _, ledger, _, mailer, service = world()
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i, hourly_limit=3) for i in range(5)]
    assert handle(service, ids).done  # the next window is past the horizon: to the pump
    assert ledger.claims == [3]
    assert [ledger.status(i) for i in ids] == ["sent"] * 3 + ["scheduled"] * 2
    assert len(mailer.sent) == 3

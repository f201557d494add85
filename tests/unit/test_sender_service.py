"""The sender's decisions, on in-memory fakes and a fake clock: when it sends, waits,
retries, gives up or hands a message back."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from emailsched.domain.retry import RetryPolicy, SendResult
from emailsched.errors import ServiceUnavailable
from emailsched.fakes import FakeClock, FakeLimiter, InMemoryLedger, RecordingMailer
from tests.support.sender import SenderFakes, sender_service

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
SENDER = uuid.uuid4()


class World:
    def __init__(self, window_s: int = 3600, gap_ms: int = 0, max_attempts: int = 3):
        self.clock = FakeClock(T0)
        self.ledger = InMemoryLedger()
        self.limiter = FakeLimiter(window_s * 1000, gap_ms, self.clock)
        self.mailer = RecordingMailer()
        self.fakes = SenderFakes()
        self.service = sender_service(self.ledger, self.limiter, self.mailer, self.clock,
                                      RetryPolicy(max_attempts, 2.0), fakes=self.fakes)

    def email(self, due_in: float = 0, limit: int = 100, seq: int = 0) -> uuid.UUID:
        return self.ledger.add(sender_id=SENDER, due=T0 + timedelta(seconds=due_in),
                               hourly_limit=limit, seq=seq)

    def handle(self, *ids: uuid.UUID, receives: int = 1):  # type: ignore[no-untyped-def]
        return self.service.handle(json.dumps({"emails": [str(i) for i in ids]}), receives)


def test_a_due_email_is_sent_once_with_a_message_id_from_its_id():
    world = World()
    email = world.email()
    assert world.handle(email).done
    assert world.ledger.status(email) == "sent"
    assert world.mailer.sent[0].message_id == f"<{email}@test>"
    assert world.handle(email).done and len(world.mailer.sent) == 1


def test_an_email_a_moment_early_waits_for_its_due_time():
    world = World()
    email = world.email(due_in=1.5)
    assert world.handle(email).done
    assert world.ledger.emails[email].sent_at == T0 + timedelta(seconds=1.5)


def test_an_early_message_comes_back_when_its_email_is_due():
    world = World()
    email = world.email(due_in=30)
    outcome = world.handle(email)
    assert not outcome.done and outcome.retry_in_seconds == 30
    assert world.mailer.attempts == 0 and world.ledger.status(email) == "queued"


def test_emails_of_one_message_go_in_due_order():
    world = World()
    ids = [world.email(due_in=0.1 * (3 - n), seq=n) for n in range(3)]
    world.handle(*ids)
    assert [e.recipient for e in world.mailer.sent] == ["r2@example.com", "r1@example.com",
                                                        "r0@example.com"]


def test_a_throttled_email_waits_for_the_next_window_and_is_never_failed():
    world = World(window_s=10)
    ids = [world.email(limit=2, seq=n) for n in range(4)]
    outcome = world.handle(*ids)
    assert [world.ledger.status(i) for i in ids] == ["sent", "sent", "queued", "queued"]
    assert not outcome.done and outcome.retry_in_seconds == 10
    assert world.ledger.emails[ids[3]].state.ready_at == T0 + timedelta(seconds=10)
    world.clock.advance(10)
    assert world.handle(*ids).done
    assert [world.ledger.status(i) for i in ids] == ["sent"] * 4


def test_a_throttle_shorter_than_an_emails_wait_never_makes_it_early():
    world = World(gap_ms=1700)
    first, second = world.email(seq=0), world.email(due_in=0.1, seq=1)
    third = world.email(due_in=1.9, seq=2)
    outcome = world.handle(first, second, third)  # the gap holds `second` until 1.7 s
    assert not outcome.done
    assert world.ledger.emails[second].state.ready_at == T0 + timedelta(seconds=1.7)
    assert world.ledger.emails[third].state.ready_at == T0 + timedelta(seconds=1.9)


def test_a_short_minimum_gap_is_waited_out_in_the_worker():
    world = World(gap_ms=500)
    ids = [world.email(seq=n) for n in range(3)]
    assert world.handle(*ids).done
    times = [world.ledger.emails[i].sent_at for i in ids]
    assert times == [T0, T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=1)]


def test_a_message_throttled_too_often_goes_back_to_the_ledger_not_the_dlq():
    world = World(window_s=10)
    first, second = world.email(limit=1, seq=0), world.email(limit=1, seq=1)
    outcome = world.handle(first, second, receives=5)
    assert outcome.done
    assert world.ledger.status(second) == "scheduled"


def test_a_deferral_is_retried_after_the_backoff_and_counts_its_attempts():
    world = World()
    world.mailer.replies = [SendResult(False, 451, "try later")]
    email = world.email()
    outcome = world.handle(email)
    assert not outcome.done and outcome.retry_in_seconds == 2
    assert world.ledger.status(email) == "queued"
    world.clock.advance(2)
    assert world.handle(email).done
    assert world.ledger.status(email) == "sent"
    assert world.ledger.emails[email].claimed.attempts == 2


def test_a_permanent_refusal_fails_at_once_with_the_reply():
    world = World()
    world.mailer.replies = [SendResult(False, 550, "no such user")]
    email = world.email()
    assert world.handle(email).done
    assert world.ledger.status(email) == "failed"
    assert world.ledger.emails[email].failure_reason == "550 no such user"


def test_the_last_attempt_fails_the_email():
    world = World(max_attempts=2)
    world.mailer.replies = [SendResult(False, None, "refused")] * 2
    email = world.email()
    world.handle(email)
    world.clock.advance(2)
    assert world.handle(email).done
    assert world.ledger.status(email) == "failed"


def test_an_email_taken_between_look_and_claim_is_left_alone_and_its_slot_returned():
    world = World(window_s=10)
    email = world.email(limit=1)
    real_claim = world.ledger.claim

    def someone_else_first(email_id, lease_until, token):  # type: ignore[no-untyped-def]
        real_claim(email_id, lease_until, uuid.uuid4())
        return real_claim(email_id, lease_until, token)

    world.ledger.claim = someone_else_first  # type: ignore[method-assign]
    assert world.handle(email).done
    assert world.mailer.attempts == 0
    assert world.limiter.count(str(SENDER), int(T0.timestamp() * 1000)) == 0


def test_a_worker_whose_lease_was_taken_back_sends_nothing():
    world = World()
    email = world.email()
    real_mark_sent = world.ledger.mark_sent

    def lease_lost(*args, **kwargs):  # type: ignore[no-untyped-def]
        world.ledger.emails[email].token = uuid.uuid4()
        return real_mark_sent(*args, **kwargs)

    world.ledger.mark_sent = lease_lost  # type: ignore[method-assign]
    assert world.handle(email).done
    assert world.mailer.sent == []


def test_a_sent_commit_whose_answer_was_lost_still_sends_once():
    world = World()
    email = world.email()
    real_mark_sent = world.ledger.mark_sent

    def lands_then_connection_drops(*args, **kwargs):  # type: ignore[no-untyped-def]
        real_mark_sent(*args, **kwargs)
        raise ServiceUnavailable("connection dropped before the commit's answer")

    world.ledger.mark_sent = lands_then_connection_drops  # type: ignore[method-assign]
    assert world.handle(email).done
    assert world.ledger.status(email) == "sent" and len(world.mailer.sent) == 1


def test_a_sent_commit_that_did_not_land_sends_nothing_and_is_put_back():
    world = World()
    email = world.email()

    def connection_drops(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ServiceUnavailable("connection dropped before the commit")

    world.ledger.mark_sent = connection_drops  # type: ignore[method-assign]
    outcome = world.handle(email)
    assert not outcome.done and outcome.retry_in_seconds == 1
    assert world.ledger.status(email) == "queued" and world.mailer.sent == []


def test_a_programming_error_in_the_ledger_fails_the_message_loudly(caplog):  # type: ignore[no-untyped-def]
    world = World()
    email = world.email()

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("claim() got an unexpected keyword argument")

    world.ledger.claim = broken  # type: ignore[method-assign]
    with pytest.raises(TypeError):
        world.handle(email)
    assert world.mailer.attempts == 0
    assert "TypeError" in caplog.text and "retrying later" not in caplog.text


def test_an_unreachable_ledger_is_retried_later_not_failed():
    world = World()
    email = world.email()

    def unreachable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ServiceUnavailable("Postgres: OperationalError")

    world.ledger.look = unreachable  # type: ignore[method-assign]
    outcome = world.handle(email)
    assert not outcome.done and outcome.retry_in_seconds > 0

"""The sender's jobs beside the message loop, on in-memory fakes: what it measures, what a
refusal leaves behind (a bounce, a deferred sender), and how a sender's own account that
keeps failing gets its emails held."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from emailsched.domain.bounces import BounceClass
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.retry import FailureKind, RetryPolicy, SendResult
from emailsched.domain.senders import SenderKind
from emailsched.fakes import FakeClock, FakeLimiter, InMemoryLedger, RecordingMailer
from emailsched.fakes_sending import OneMailerPool
from emailsched.ports import PointOfNoReturn
from tests.support.sender import SenderFakes, sender_service

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
SENDER = uuid.uuid4()


class World:
    def __init__(self, mailer: RecordingMailer | None = None) -> None:
        self.clock = FakeClock(T0)
        self.ledger = InMemoryLedger()
        self.mailer = mailer or RecordingMailer()
        self.fakes = SenderFakes()
        self.service = sender_service(self.ledger, FakeLimiter(3_600_000, 0, self.clock),
                                      self.mailer, self.clock, RetryPolicy(3, 2.0),
                                      fakes=self.fakes)

    def email(self, seq: int = 0, kind: SenderKind = SenderKind.RELAY) -> uuid.UUID:
        email_id = self.ledger.add(sender_id=SENDER, due=T0, seq=seq)
        stored = self.ledger.emails[email_id]
        stored.claimed = replace(stored.claimed, sender_id=SENDER, sender_kind=kind)
        return email_id

    def handle(self, *ids: uuid.UUID):  # type: ignore[no-untyped-def]
        return self.service.handle(json.dumps({"emails": [str(i) for i in ids]}))


def test_a_sent_email_is_counted_with_its_lateness_and_round_latency():
    world = World()
    world.handle(world.email())
    assert world.fakes.metrics.counts["emails_sent"] == 1
    assert world.fakes.metrics.observed["lateness_ms"] == [0.0]
    assert len(world.fakes.metrics.observed["send_latency_ms"]) == 1


def test_a_hard_bounce_is_counted_by_class_and_recorded_for_the_batch():
    world = World()
    world.mailer.replies = [SendResult(False, 550, "5.1.1 no such user")]
    email = world.email()
    world.handle(email)
    assert world.ledger.status(email) == "failed"
    assert world.fakes.metrics.counts["emails_failed{class=hard_bounce}"] == 1
    assert world.fakes.bounces.recorded == [(email, BounceClass.HARD_BOUNCE)]


def test_a_deferred_sender_holds_back_its_other_emails_without_using_their_attempts():
    world = World()
    world.mailer.replies = [SendResult(False, 421, "4.7.0 Try again later")]
    first, second = world.email(seq=0), world.email(seq=1)
    assert not world.handle(first).done
    assert str(SENDER) in world.fakes.deferrals.until_ms
    outcome = world.handle(second)
    assert not outcome.done and outcome.retry_in_seconds == 600
    assert world.mailer.attempts == 1 and world.ledger.status(second) == "queued"
    assert world.ledger.emails[first].claimed.attempts == 0


class LoginRefusingMailer(RecordingMailer):
    """Its server refuses the login: nothing of a round reaches the point of no return."""

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        self.attempts += len(emails)
        point_of_no_return([])
        return [SendResult(False, 535, "authentication failed", kind=FailureKind.AUTH)
                for _ in emails]


def test_an_account_that_fails_to_log_in_is_held_at_the_threshold_not_its_emails_failed():
    world = World(LoginRefusingMailer())
    email, other = world.email(seq=0, kind=SenderKind.SMTP), world.email(seq=1,
                                                                          kind=SenderKind.SMTP)
    for _ in range(2):  # the first two failures: back to the queue after the backoff
        assert not world.handle(email).done
        assert world.ledger.status(email) == "queued"
        world.clock.advance(60)
    assert world.handle(email).done  # the third (SENDER_FAILURES_BEFORE_HOLD): held
    assert world.ledger.status(email) == "held" and world.ledger.status(other) == "held"
    assert world.fakes.metrics.counts["emails_held"] == 2
    assert world.ledger.emails[email].claimed.attempts == 0
    assert not any(name.startswith("emails_failed") for name in world.fakes.metrics.counts)


def test_a_relay_senders_emails_go_through_the_pool_as_relay():
    world = World()
    world.handle(world.email())
    pool = world.service._group._parts.mailers
    assert isinstance(pool, OneMailerPool) and pool.asked == [(SENDER, SenderKind.RELAY)]

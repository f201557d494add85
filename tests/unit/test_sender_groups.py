"""Emails of one message that are due together are claimed in one statement, and still
each reach the server in the window its slot counted in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.retry import RetryPolicy, SendResult
from emailsched.errors import ServiceUnavailable
from emailsched.fakes import FakeClock, FakeLimiter, InMemoryLedger, RecordingMailer
from emailsched.ports import ClaimedEmail, PointOfNoReturn
from emailsched.services.sender import SenderService
from tests.support.sender import sender_service

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
SENDER = uuid.uuid4()


class CountingLedger(InMemoryLedger):
    def __init__(self) -> None:
        super().__init__()
        self.claims: list[int] = []
        self.commits: list[int] = []

    def mark_sent(self, sends: Sequence[tuple[uuid.UUID, str]], token: uuid.UUID,
                  now: datetime) -> set[uuid.UUID]:
        self.commits.append(len(sends))
        return super().mark_sent(sends, token, now)

    def claim(self, ids: Sequence[uuid.UUID], lease_until: datetime,
                   token: uuid.UUID) -> list[ClaimedEmail]:
        self.claims.append(len(ids))
        return super().claim(ids, lease_until, token)


class SlowMailer(RecordingMailer):
    """Each round takes `seconds` of the fake clock."""

    def __init__(self, clock: FakeClock, seconds: float, sessions: int):
        super().__init__(sessions=sessions)
        self._clock, self._seconds = clock, seconds

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        self._clock.advance(self._seconds)
        return super().send_round(emails, point_of_no_return)


def world(gap_ms: int = 0, send_seconds: float = 0.0,  # type: ignore[no-untyped-def]
          sessions: int = 1):
    clock = FakeClock(T0)
    ledger, limiter = CountingLedger(), FakeLimiter(3_600_000, gap_ms, clock)
    mailer = SlowMailer(clock, send_seconds, sessions)
    service = sender_service(ledger, limiter, mailer, clock, RetryPolicy(3, 2.0))
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
    # The first group sends two (the second round starts 100 ms after the grants, the
    # third would start at 200 ms, past the budget): its other slots were given back, and
    # the next groups ask for as many as went out in time.
    assert ledger.claims == [6, 2, 2]
    assert limiter.count(str(SENDER), int(T0.timestamp() * 1000)) == 6


def test_groups_grow_back_by_one_once_their_rounds_go_out_in_time():
    clock, ledger, _, mailer, service = world(send_seconds=0.1)
    slow = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(4)]
    assert handle(service, slow).done
    assert ledger.claims == [4, 2]  # two went out in time, then a group of two went whole
    mailer._seconds = 0.0
    quick = [ledger.add(sender_id=SENDER, due=clock.now(), seq=10 + i) for i in range(9)]
    assert handle(service, quick).done
    assert ledger.claims == [4, 2, 3, 4, 2]


def test_a_group_stops_at_the_limit_and_the_rest_waits_for_the_next_window():
    _, ledger, _, mailer, service = world()
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i, hourly_limit=3) for i in range(5)]
    assert handle(service, ids).done  # the next window is past the horizon: to the pump
    assert ledger.claims == [3]
    assert [ledger.status(i) for i in ids] == ["sent"] * 3 + ["scheduled"] * 2
    assert len(mailer.sent) == 3


def test_a_group_goes_out_in_rounds_of_the_mailers_connections_one_commit_each():
    _, ledger, limiter, mailer, service = world(sessions=4)
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(10)]
    assert handle(service, ids).done
    assert ledger.claims == [10]
    assert mailer.rounds == [4, 4, 2] and ledger.commits == [4, 4, 2]
    assert recipients(mailer) == [f"r{i}@example.com" for i in range(10)]
    assert limiter.count(str(SENDER), int(T0.timestamp() * 1000)) == 10


def test_a_round_started_past_the_budget_is_released_and_taken_afresh():
    _, ledger, limiter, mailer, service = world(send_seconds=0.1, sessions=3)
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(9)]
    assert handle(service, ids).done
    # Rounds of 3 take 100 ms each: the third would start 200 ms after its grants.
    assert ledger.claims == [9, 3]
    assert mailer.rounds == [3, 3, 3]
    assert recipients(mailer) == [f"r{i}@example.com" for i in range(9)]
    assert limiter.count(str(SENDER), int(T0.timestamp() * 1000)) == 9


def test_an_email_whose_lease_was_lost_is_left_out_of_its_round():
    _, ledger, _, mailer, service = world(sessions=3)
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(3)]
    real_mark_sent = ledger.mark_sent

    def second_taken_back(*args, **kwargs):  # type: ignore[no-untyped-def]
        ledger.emails[ids[1]].token = uuid.uuid4()
        return real_mark_sent(*args, **kwargs)

    ledger.mark_sent = second_taken_back  # type: ignore[method-assign]
    assert handle(service, ids).done
    assert recipients(mailer) == ["r0@example.com", "r2@example.com"]
    assert [ledger.status(i) for i in ids] == ["sent", "sending", "sent"]


def test_a_round_whose_commit_did_not_land_is_put_back_whole():
    _, ledger, _, mailer, service = world(sessions=3)
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(3)]

    def connection_drops(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ServiceUnavailable("connection dropped before the commit")

    ledger.mark_sent = connection_drops  # type: ignore[method-assign]
    outcome = handle(service, ids)
    assert not outcome.done and outcome.retry_in_seconds == 1
    assert mailer.sent == [] and {ledger.status(i) for i in ids} == {"queued"}


def test_a_refusal_after_the_commit_fails_that_email_alone():
    _, ledger, _, mailer, service = world(sessions=3)
    mailer.replies = [SendResult(True, 250, "OK"), SendResult(False, 550, "no such user"),
                      SendResult(True, 250, "OK")]
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(3)]
    assert handle(service, ids).done
    assert [ledger.status(i) for i in ids] == ["sent", "failed", "sent"]
    assert ledger.emails[ids[1]].failure_reason == "550 no such user"
    assert ledger.emails[ids[1]].claimed.attempts == 1  # counted once, by the commit


def test_past_its_deadline_a_handler_starts_no_new_group_and_the_message_comes_back():
    _, ledger, limiter, mailer, service = world(send_seconds=1.0, sessions=10)
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(50)]
    outcome = service.handle(json.dumps({"emails": [str(i) for i in ids]}),
                             deadline=T0 + timedelta(seconds=2.5))
    assert not outcome.done and outcome.retry_in_seconds == 1
    # Groups of ten, a second each: three started before the deadline.
    assert [ledger.status(i) for i in ids] == ["sent"] * 30 + ["queued"] * 20
    assert limiter.count(str(SENDER), int(T0.timestamp() * 1000)) == 30
    assert mailer.rounds == [10, 10, 10]


def test_only_emails_with_identical_limits_join_a_group():
    """The limiter checks one set of limits per call: emails under another daily cap or
    sender hourly limit (the sender's limits changed between batches) start a new group."""
    _, ledger, _, mailer, service = world()
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(6)]
    for email_id in ids[2:4]:
        email = ledger.emails[email_id]
        email.state = replace(email.state, daily_limit=50)
    email = ledger.emails[ids[5]]
    email.state = replace(email.state, sender_hourly_limit=10)
    assert handle(service, ids).done
    assert ledger.claims == [2, 2, 1, 1]
    assert len(mailer.sent) == 6


def test_a_sender_daily_cap_holds_the_rest_until_the_next_day():
    _, ledger, _, mailer, service = world()
    ids = [ledger.add(sender_id=SENDER, due=T0, seq=i) for i in range(5)]
    for email_id in ids:
        email = ledger.emails[email_id]
        email.state = replace(email.state, daily_limit=3)
    assert handle(service, ids).done  # a wait past the horizon: back to the pump
    assert len(mailer.sent) == 3
    midnight = T0 + timedelta(hours=12)  # T0 is noon UTC
    assert [(ledger.status(i), ledger.emails[i].state.ready_at) for i in ids[3:]] == [
        ("scheduled", midnight)] * 2

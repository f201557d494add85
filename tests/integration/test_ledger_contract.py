"""The ledger contract: the in-memory fake and the Postgres ledger pass the same
assertions, through the ports only, so the sender's and pump's unit tests test what
production runs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy

from emailsched.fakes import InMemoryLedger
from tests.support.ledger import schedule_due_now
from tests.support.stack import Services, prepare

pytestmark = pytest.mark.integration
Scheduled = Callable[[int], list[uuid.UUID]]


@pytest.fixture(params=["fake", "postgres"])
def ledger_and_emails(request: pytest.FixtureRequest, services: Services) -> Any:
    """A ledger, and a way to schedule emails due now on it (their ids, in order)."""
    if request.param == "fake":
        fake = InMemoryLedger()
        sender = uuid.uuid4()
        return fake, lambda n: [fake.add(sender_id=sender, due=datetime.now(UTC), seq=i,
                                         status="scheduled") for i in range(n)]
    container = prepare(services.settings())

    def scheduled(n: int) -> list[uuid.UUID]:
        schedule_due_now(services, n)
        with container.engine.connect() as connection:
            return [row[0] for row in connection.execute(sqlalchemy.text(
                "SELECT id FROM emails ORDER BY seq"))]

    return container.ledger, scheduled


def enqueue(ledger: Any, scheduled: Scheduled, n: int) -> list[uuid.UUID]:
    ids = scheduled(n)
    due = ledger.claim_due(datetime.now(UTC) + timedelta(minutes=1), n)
    assert sorted(d.id for d in due) == sorted(ids)
    return ids


def lease() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=1)


def test_the_pump_claims_due_emails_once_and_counts_them_in_flight(ledger_and_emails: Any):
    ledger, scheduled = ledger_and_emails
    ids = enqueue(ledger, scheduled, 3)
    assert ledger.claim_due(datetime.now(UTC) + timedelta(minutes=1), 10) == []
    assert ledger.count_in_flight() == 3
    assert {state.status for state in ledger.look(ids)} == {"queued"}


def test_a_claim_takes_only_queued_emails_and_a_second_claim_takes_nothing(
        ledger_and_emails: Any):
    ledger, scheduled = ledger_and_emails
    ids = enqueue(ledger, scheduled, 2)
    token = uuid.uuid4()
    assert sorted(e.id for e in ledger.claim(ids, lease(), token)) == sorted(ids)
    assert ledger.claim(ids, lease(), uuid.uuid4()) == []
    assert {state.status for state in ledger.look(ids)} == {"sending"}


def test_only_the_claiming_token_marks_sent_and_returns_to_the_queue(ledger_and_emails: Any):
    ledger, scheduled = ledger_and_emails
    first, second = enqueue(ledger, scheduled, 2)
    token = uuid.uuid4()
    ledger.claim([first, second], lease(), token)
    assert ledger.mark_sent([(first, "<a@test>")], uuid.uuid4(), datetime.now(UTC)) == set()
    assert ledger.mark_sent([(first, "<a@test>")], token, datetime.now(UTC)) == {first}
    assert ledger.sent_by([first, second], token) == {first}
    assert ledger.return_to_queue([first, second], uuid.uuid4(), datetime.now(UTC)) == []
    assert ledger.return_to_queue([first, second], token, datetime.now(UTC)) == [second]
    states = {state.id: state.status for state in ledger.look([first, second])}
    assert states == {first: "sent", second: "queued"}


def test_a_failed_attempt_is_recorded_for_a_retry_or_for_good(ledger_and_emails: Any):
    ledger, scheduled = ledger_and_emails
    retried, failed = enqueue(ledger, scheduled, 2)
    token, now = uuid.uuid4(), datetime.now(UTC)
    ledger.claim([retried, failed], lease(), token)
    later = now + timedelta(seconds=30)
    ledger.record_outcome(retried, token, status="queued", wake_at=later, reason="451",
                          now=now, counted=1)
    ledger.record_outcome(failed, token, status="failed", wake_at=now, reason="550",
                          now=now, counted=1)
    states = {state.id: state for state in ledger.look([retried, failed])}
    assert states[retried].status == "queued" and states[retried].ready_at == later
    assert states[failed].status == "failed"
    assert [e.attempts for e in ledger.claim([retried], lease(), uuid.uuid4())] == [1]


def test_returned_to_the_pump_an_email_is_claimed_again(ledger_and_emails: Any):
    ledger, scheduled = ledger_and_emails
    ids = enqueue(ledger, scheduled, 2)
    ledger.return_to_pump(ids)
    assert ledger.count_in_flight() == 0
    assert len(ledger.claim_due(datetime.now(UTC) + timedelta(minutes=1), 10)) == 2


def test_an_expired_lease_is_recovered_and_a_live_one_is_not(ledger_and_emails: Any):
    ledger, scheduled = ledger_and_emails
    expired, live = enqueue(ledger, scheduled, 2)
    now = datetime.now(UTC)
    ledger.claim([expired], now - timedelta(seconds=1), uuid.uuid4())
    ledger.claim([live], now + timedelta(minutes=5), uuid.uuid4())
    assert ledger.recover_lost(now, timedelta(minutes=10)) == 1
    states = {state.id: state.status for state in ledger.look([expired, live])}
    assert states == {expired: "scheduled", live: "sending"}


def test_postponing_never_moves_an_email_earlier(ledger_and_emails: Any):
    ledger, scheduled = ledger_and_emails
    (email,) = enqueue(ledger, scheduled, 1)
    later = datetime.now(UTC) + timedelta(minutes=5)
    ledger.postpone([email], later)
    ledger.postpone([email], later - timedelta(minutes=4))
    assert [state.ready_at for state in ledger.look([email])] == [later]

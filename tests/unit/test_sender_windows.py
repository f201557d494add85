"""The sender never sends outside an email's sending window, whatever delayed the email
(a retry's backoff, a deferral, a late message): it waits for the next opening."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from emailsched.domain.retry import RetryPolicy
from emailsched.fakes import FakeClock, FakeLimiter, InMemoryLedger, RecordingMailer
from emailsched.services.sender import SenderService
from tests.support.sender import sender_service

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)  # a Friday, 12:00 UTC
SENDER = uuid.uuid4()
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def world() -> tuple[InMemoryLedger, RecordingMailer, SenderService]:
    clock = FakeClock(T0)
    ledger, mailer = InMemoryLedger(), RecordingMailer()
    service = sender_service(ledger, FakeLimiter(3_600_000, 0, clock), mailer, clock,
                             RetryPolicy(3, 2.0))
    return ledger, mailer, service


def add(ledger: InMemoryLedger, seq: int, window: dict[str, object] | None,
        zone: str | None = None) -> uuid.UUID:
    email_id = ledger.add(sender_id=SENDER, due=T0 - timedelta(minutes=5), seq=seq)
    email = ledger.emails[email_id]
    email.state = replace(email.state, sending_window=window, recipient_timezone=zone)
    return email_id


def window(timezone: str, start: str, end: str) -> dict[str, object]:
    return {"timezone": timezone, "days": EVERY_DAY, "start": start, "end": end}


def test_an_email_past_its_window_waits_for_the_next_opening_and_others_go():
    ledger, mailer, service = world()
    closed = add(ledger, 0, window("UTC", "09:00", "12:00"))  # closed a moment ago
    open_ = add(ledger, 1, window("UTC", "11:00", "13:00"))
    free = add(ledger, 2, None)
    outcome = service.handle(json.dumps({"emails": [str(closed), str(open_), str(free)]}))
    assert [e.recipient for e in mailer.sent] == ["r1@example.com", "r2@example.com"]
    assert ledger.status(closed) in ("queued", "scheduled")  # back to the pump: 21 h away
    assert ledger.emails[closed].state.ready_at == datetime(2026, 11, 28, 9, tzinfo=UTC)
    assert outcome.done


def test_the_recipients_own_zone_decides():
    ledger, mailer, service = world()
    # 12:00 UTC is 21:00 in Tokyo (closed; opens at 09:00 Tokyo, 00:00 UTC) and 13:00 in Berlin.
    tokyo = add(ledger, 0, window("Europe/Berlin", "09:00", "17:00"), "Asia/Tokyo")
    berlin = add(ledger, 1, window("Europe/Berlin", "09:00", "17:00"))
    service.handle(json.dumps({"emails": [str(tokyo), str(berlin)]}))
    assert [e.recipient for e in mailer.sent] == ["r1@example.com"]
    assert ledger.emails[tokyo].state.ready_at == datetime(2026, 11, 28, 0, tzinfo=UTC)

"""Scenario 4: SMTP servers that misbehave. One sink plays four servers, one per sender:
it answers 421 or 451 to a third of one sender's messages, drops the connection after DATA
for a third of another's, refuses a third sender's with 550, and is down for 30 s while
a fourth sender's emails fall due. Every email ends sent or failed with a reason, the
attempts are recorded (the ledger counts exactly the DATA the sink saw, less the 421s: a
421 defers the sender for SENDER_DEFERRAL_SECONDS and uses none of the email's attempts),
none is sent twice, and a 550 fails at once.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.reliability.outcomes import LedgerEmail
from tests.reliability.stack import batch, schedule
from tests.support.smtp_sinks import (
    DROP_AFTER_STORE,
    DROP_BEFORE_STORE,
    OK,
    DataAttempt,
    RecordingSink,
)
from tests.support.stack import Api

pytestmark = pytest.mark.reliability

FLAKY, DROPPING, REFUSED, PATIENT = (f"{name}@example.com" for name in
                                     ("flaky", "dropping", "refused", "patient"))
REFUSAL = "550 5.1.1 no such user here"
MAX_ATTEMPTS = 4
DOWN_SECONDS = 30.0
PATIENT_EMAILS, PATIENT_DELAY_MS = 33, 1000  # due over 32 s, the first 30 s of them down


class FaultScript:
    """Answers DATA as the sender's server would; counts every DATA per sender."""

    def __init__(self) -> None:
        self.data: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.deferred: Counter[str] = Counter()  # 421s: the sender deferred, no attempt used

    def __call__(self, attempt: DataAttempt) -> str:
        sender = attempt.mail_from
        self.data[sender] += 1
        third = self.data[sender] % 3 == 0
        if sender == FLAKY and third:
            if self.data[sender] % 2:
                self.deferred[sender] += 1
                return "421 4.7.0 busy, come back later"
            return "451 4.3.0 temporary failure"
        if sender == DROPPING and third:
            self.dropped[sender] += 1
            return DROP_AFTER_STORE if self.data[sender] % 2 else DROP_BEFORE_STORE
        if sender == REFUSED:
            return REFUSAL
        return OK


@pytest.mark.scenario("4. SMTP faults (4xx, drops, down 30 s, 550)")
def test_smtp_faults_end_every_email_sent_or_failed_once_with_attempts_recorded(figures,
                                                                                launch):
    script = FaultScript()
    scenario = launch("smtp-faults", sink=RecordingSink(script=script), env={
        "MAX_SEND_ATTEMPTS": str(MAX_ATTEMPTS), "RETRY_BASE_SECONDS": "1"})
    api = scenario.api()
    comeback = scenario.sink.down_for(DOWN_SECONDS)
    now = datetime.now(UTC)
    schedule(api, batch([f"p{i:02d}@example.net" for i in range(PATIENT_EMAILS)], now,
                        delay_ms=PATIENT_DELAY_MS, sender=PATIENT))
    comeback.join()
    later = datetime.now(UTC)
    schedule(api, batch([f"f{i:02d}@example.net" for i in range(60)], later, sender=FLAKY))
    schedule(api, batch([f"d{i:02d}@example.net" for i in range(30)], later, sender=DROPPING))
    schedule(api, batch([f"r{i}@example.net" for i in range(5)], later, sender=REFUSED))
    outcome = scenario.settle(PATIENT_EMAILS + 95, timeout=60)

    by_sender: dict[str, list[LedgerEmail]] = {}
    for email in scenario.ledger():
        by_sender.setdefault(email.sender, []).append(email)
    figures.outcome(outcome, **{
        sender.split("@")[0]: dict(Counter(e.status for e in emails))
        for sender, emails in sorted(by_sender.items())})
    assert outcome.is_clean(), outcome.explain()
    assert all(e.status in ("sent", "failed") and e.attempts >= 1 for e in scenario.ledger())
    assert all(e.failure_reason for e in scenario.ledger() if e.status == "failed")
    assert script.deferred[FLAKY] > 0  # the sender deferral was exercised
    for sender in (FLAKY, DROPPING, REFUSED):  # each attempt reached DATA; a 421 is none
        assert sum(e.attempts for e in by_sender[sender]) == \
            script.data[sender] - script.deferred[sender], sender
    assert_flaky_server_is_retried(by_sender[FLAKY])
    assert_dropped_connections_are_not_sent_again(by_sender[DROPPING], script)
    assert_a_refusal_fails_at_once(by_sender[REFUSED], api)
    assert_a_server_down_for_30_s_is_retried_then_given_up(by_sender[PATIENT])


def assert_flaky_server_is_retried(emails: list[LedgerEmail]) -> None:
    assert any(e.status == "sent" and e.attempts > 1 for e in emails)
    for email in emails:
        if email.status == "failed":
            assert email.attempts == MAX_ATTEMPTS
            assert email.failure_reason.startswith(("421 ", "451 "))


def assert_dropped_connections_are_not_sent_again(emails: list[LedgerEmail],
                                                  script: FaultScript) -> None:
    failed = [e for e in emails if e.status == "failed"]
    assert len(failed) == script.dropped[DROPPING]
    assert all(e.attempts == 1 and "not sent again" in e.failure_reason for e in failed)


def assert_a_refusal_fails_at_once(emails: list[LedgerEmail], api: Api) -> None:
    assert all(e.status == "failed" and e.attempts == 1 and e.failure_reason == REFUSAL
               for e in emails)
    # The batch's own page: among all senders' newest hundred, the refusals (the quickest
    # to finish) may not be.
    shown = api.get("/emails/sent", limit=100,
                    batchId=str(emails[0].batch_id)).json()["emails"]
    assert {e["sender"]["email"] for e in shown} == {REFUSED}
    assert len(shown) == len(emails)
    assert {(e["status"], e["attempts"], e["failureReason"]) for e in shown} == {
        ("failed", 1, REFUSAL)}


def assert_a_server_down_for_30_s_is_retried_then_given_up(emails: list[LedgerEmail]) -> None:
    failed = [e for e in emails if e.status == "failed"]
    assert failed and any(e.status == "sent" for e in emails)
    assert all(e.attempts == MAX_ATTEMPTS and "cannot connect" in e.failure_reason
               for e in failed)


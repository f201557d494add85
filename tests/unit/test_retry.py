"""Retry decisions as a table: what each SMTP outcome leads to."""

import pytest

from emailsched.domain.bounces import BounceClass
from emailsched.domain.retry import RetryPolicy, SendResult, Verdict

pytestmark = pytest.mark.unit
POLICY = RetryPolicy(max_attempts=3, base_seconds=2.0)


@pytest.mark.parametrize("result, attempts, verdict, delay", [
    (SendResult(True, 250, "ok"), 1, Verdict.SENT, 0),
    (SendResult(False, 451, "try later"), 1, Verdict.RETRY, 2),
    (SendResult(False, 421, "closing"), 2, Verdict.DEFER_SENDER, 600),
    (SendResult(False, 451, "4.7.1 rate limited, slow down"), 3, Verdict.DEFER_SENDER, 600),
    (SendResult(False, 450, "4.2.0 mailbox busy"), 1, Verdict.RETRY, 2),
    (SendResult(False, 451, "try later"), 3, Verdict.FAIL, 0),
    (SendResult(False, None, "connection refused"), 1, Verdict.RETRY, 2),
    (SendResult(False, 550, "no such user"), 1, Verdict.FAIL, 0),
    (SendResult(False, 554, "rejected"), 1, Verdict.FAIL, 0),
    (SendResult(False, None, "lost after data", outcome_unknown=True), 1, Verdict.FAIL, 0),
])
def test_decision_table(result, attempts, verdict, delay):
    decision = POLICY.decide(result, attempts)
    assert decision.verdict == verdict
    assert decision.delay_seconds == delay


def test_a_permanent_failure_keeps_the_servers_reply_as_the_reason():
    decision = POLICY.decide(SendResult(False, 550, "5.1.1 no such user"), 1)
    assert decision.reason == "550 5.1.1 no such user"


def test_an_unknown_outcome_is_never_sent_again():
    decision = POLICY.decide(SendResult(False, None, "reset", outcome_unknown=True), 1)
    assert "not sent again" in (decision.reason or "")


@pytest.mark.parametrize("result, bounce", [
    (SendResult(False, 550, "5.1.1 no such user"), BounceClass.HARD_BOUNCE),
    (SendResult(False, 550, "5.7.1 blocked by policy"), BounceClass.POLICY),
    (SendResult(False, 552, "5.2.2 mailbox full"), BounceClass.OTHER_PERMANENT),
])
def test_a_refusal_fails_at_once_naming_its_bounce_class(result, bounce):
    decision = POLICY.decide(result, 1)
    assert (decision.verdict, decision.bounce) == (Verdict.FAIL, bounce)


def test_a_sender_deferral_waits_the_deferral_whatever_the_attempts_made():
    policy = RetryPolicy(max_attempts=1, sender_deferral_seconds=30)
    decision = policy.decide(SendResult(False, 421, "4.7.0 try again later"), 5)
    assert (decision.verdict, decision.delay_seconds) == (Verdict.DEFER_SENDER, 30)
    assert decision.bounce is BounceClass.SENDER_DEFERRAL


def test_a_sender_deferral_past_the_maximum_after_the_due_time_fails_with_the_reply():
    policy = RetryPolicy(max_attempts=5, sender_deferral_seconds=30,
                         sender_deferral_max_seconds=3600)
    deferred = SendResult(False, 421, "4.7.0 try again later")
    assert policy.decide(deferred, 1, overdue_seconds=3599).verdict == Verdict.DEFER_SENDER
    failed = policy.decide(deferred, 1, overdue_seconds=3600)
    assert failed.verdict == Verdict.FAIL
    assert failed.reason is not None and failed.reason.startswith("421 4.7.0 try again later")
    assert "1 h" in failed.reason


def test_no_maximum_defers_however_late():
    policy = RetryPolicy(max_attempts=5, sender_deferral_max_seconds=0)
    late = policy.decide(SendResult(False, 421, "closing"), 1, overdue_seconds=10 ** 9)
    assert late.verdict == Verdict.DEFER_SENDER

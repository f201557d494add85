"""What the sender writes down once the server answered an email: sent, retried later, or
failed, with the metrics of each; and an email that fails before it is sent (its template
could not be rendered). Part of the group send (services/group_send.py)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from emailsched.domain.bounces import BounceClass, classify_reply
from emailsched.domain.model import EmailStatus
from emailsched.domain.retry import Decision, RetryPolicy, SendResult, Verdict
from emailsched.errors import ServiceUnavailable
from emailsched.ports import ClaimedEmail, Clock, Metrics, SenderLedger
from emailsched.services.deliverability import Deliverability

log = logging.getLogger("emailsched.services.sender")

RECORD_TRIES = 5


class Settlement:
    def __init__(self, ledger: SenderLedger, clock: Clock, policy: RetryPolicy,
                 metrics: Metrics, deliverability: Deliverability):
        self._ledger, self._clock, self._policy = ledger, clock, policy
        self._metrics, self._deliverability = metrics, deliverability

    def settle(self, email: ClaimedEmail, token: uuid.UUID, result: SendResult,
               committed: bool) -> float | None:
        """Acts on the server's answer; the seconds until a retry, if one is to come."""
        overdue = 0.0 if email.due_at is None else (
            self._clock.now() - email.due_at).total_seconds()
        decision = self._policy.decide(result, email.attempts + 1, overdue)
        if decision.verdict == Verdict.SENT:
            if committed:
                self._metrics.count("emails_sent")
            return None
        retrying = decision.verdict in (Verdict.RETRY, Verdict.DEFER_SENDER)
        self.record_failure(email, token, decision, retrying, committed)
        self._deliverability.after_refusal(email, decision, _ms_now(self._clock))
        if retrying:
            self._metrics.count("emails_deferred")
        else:
            self._metrics.count("emails_failed", 1, **{"class": _failure_class(result)})
        log.info("email %s %s: %s", email.id, "will be retried" if retrying else "failed",
                 decision.reason)
        return decision.delay_seconds if retrying else None

    def record_failure(self, email: ClaimedEmail, token: uuid.UUID, decision: Decision,
                       retrying: bool, committed: bool) -> None:
        """Write a failed attempt down. After the point of no return the ledger says `sent`
        until this lands, so it is tried harder than anything else."""
        for attempt in range(RECORD_TRIES):
            now = self._clock.now()
            try:
                self._ledger.record_outcome(
                    email.id, token,
                    status=EmailStatus.QUEUED if retrying else EmailStatus.FAILED,
                    wake_at=now + timedelta(seconds=decision.delay_seconds),
                    reason=decision.reason or "", now=now,
                    counted=_attempts_counted(decision, committed))
                return
            except ServiceUnavailable as error:
                if attempt == RECORD_TRIES - 1:
                    raise
                log.warning("cannot record a failed attempt, trying again: %s", error.message)
                self._clock.sleep(0.5 * (attempt + 1))


def _attempts_counted(decision: Decision, committed: bool) -> int:
    """What a failed attempt adds to `attempts`: the `sent` commit counted it already; a
    sender-level deferral uses none of the email's attempts (so it takes that back)."""
    if decision.verdict == Verdict.DEFER_SENDER:
        return -1 if committed else 0
    return 0 if committed else 1


def _failure_class(result: SendResult) -> str:
    """The emails_failed class: hard_bounce, policy, transient_exhausted or other."""
    found = classify_reply(result.code, result.reply)
    if found in (BounceClass.HARD_BOUNCE, BounceClass.POLICY):
        return found.value
    if not result.outcome_unknown and not found.is_permanent:
        return "transient_exhausted"
    return "other"


def _ms_now(clock: Clock) -> int:
    return int(clock.now().timestamp() * 1000)

"""A sender's own account, judged by the rounds sent through it: a round that could not
connect or log in counts one failure of the account (not of its emails), and at
SENDER_FAILURES_BEFORE_HOLD in a row all of the sender's unsent emails are held until the
user fixes it. A round that got through ends the run of failures."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from emailsched.domain.model import EmailStatus
from emailsched.domain.retry import RetryPolicy, SendResult
from emailsched.domain.senders import SenderKind
from emailsched.ports import ClaimedEmail, Clock, Metrics, SenderHealthLedger, SenderLedger

log = logging.getLogger("emailsched.services.sender")


class AccountHealth:
    def __init__(self, health: SenderHealthLedger, ledger: SenderLedger, clock: Clock,
                 policy: RetryPolicy, metrics: Metrics, failures_before_hold: int):
        self._health, self._ledger, self._clock = health, ledger, clock
        self._policy, self._metrics = policy, metrics
        self._failures_before_hold = failures_before_hold

    def review(self, emails: list[ClaimedEmail], results: list[SendResult | None],
               token: uuid.UUID) -> tuple[list[SendResult | None], list[float]]:
        """A round of a sender with its own account (a group never mixes senders) that
        could not connect or log in counts one failure of that account, uses no attempt
        of its emails, and at the threshold holds all of its unsent emails. Returns the
        results still to settle one by one, and the waits of the emails put back."""
        first = emails[0]
        # Every kind with an account of its own (smtp, and google or microsoft by OAuth).
        if first.sender_id is None or first.sender_kind == SenderKind.RELAY:
            return results, []
        failed = [i for i, r in enumerate(results) if r is not None and r.account_failure]
        if not failed:
            if first.sender_failures and any(r is not None and r.accepted for r in results):
                self._health.account_worked(first.sender_id)
            return results, []
        error = results[failed[0]]
        assert error is not None
        reason = f"{error.code} {error.reply}".strip() if error.code else error.reply
        waits = self._after_failure(first.sender_id, [emails[i] for i in failed], token,
                                    reason, first.sender_failures)
        return [None if i in failed else r for i, r in enumerate(results)], waits

    def _after_failure(self, sender_id: uuid.UUID, failed: list[ClaimedEmail],
                       token: uuid.UUID, reason: str, failures: int) -> list[float]:
        """Holds the sender at the threshold; else its failed emails wait its backoff."""
        if self._health.account_failed(sender_id, reason, self._failures_before_hold):
            held = self._health.hold_sender(sender_id, [email.id for email in failed], token)
            self._metrics.count("emails_held", held)
            log.warning("sender %s is failing (%s): %d email(s) held", sender_id, reason, held)
            return []
        return [self._retry_unattempted(email, token, reason, failures) for email in failed]

    def _retry_unattempted(self, email: ClaimedEmail, token: uuid.UUID, reason: str,
                           failures: int) -> float:
        """Back to the queue after the account's backoff, the attempt not counted."""
        delay = self._policy.backoff(failures + 1)
        now = self._clock.now()
        self._ledger.record_outcome(email.id, token, status=EmailStatus.QUEUED,
                                    wake_at=now + timedelta(seconds=delay), reason=reason,
                                    now=now, counted=0)
        return delay

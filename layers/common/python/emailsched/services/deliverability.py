"""The sender's deliverability steps, kept out of the send loop: composing each email from
its templates and fields at send time (domain/compose.py), acting on a refusal's bounce
class (suppress, count, pause the batch; domain/bounces.py) and holding back a sender a
server deferred (421, 4.7.x) for SENDER_DEFERRAL_SECONDS, across workers."""

from __future__ import annotations

import logging
import uuid
from math import ceil

from emailsched.domain.batch_tracking import Tracking
from emailsched.domain.bounces import BounceClass
from emailsched.domain.compose import ComposeRules, Draft, compose
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.retry import Decision, Verdict
from emailsched.errors import ServiceUnavailable
from emailsched.ports import BounceRecorder, ClaimedEmail, SenderDeferrals

log = logging.getLogger(__name__)
_ACTED_ON = frozenset({BounceClass.HARD_BOUNCE, BounceClass.POLICY})


class Deliverability:
    def __init__(self, rules: ComposeRules, bounces: BounceRecorder,
                 deferrals: SenderDeferrals):
        self._rules, self._bounces, self._deferrals = rules, bounces, deferrals

    def compose(self, email: ClaimedEmail) -> OutgoingEmail:
        """The email as it goes out; RenderFailed when its template cannot be rendered."""
        return compose(Draft(id=email.id, sender_email=email.sender_email,
                             sender_name=email.sender_name, recipient=email.recipient,
                             subject=email.subject, body=email.body, templated=email.templated,
                             fields=email.fields or {}, postal_address=email.postal_address,
                             references=email.references,
                             tracking=Tracking.from_json(email.tracking),
                             batch_id=email.batch_id), self._rules)

    def after_refusal(self, email: ClaimedEmail, decision: Decision, now_ms: int) -> None:
        """A hard bounce or policy block is recorded (and acted on); a deferral holds the
        sender back. Best effort: the email's own outcome is already decided."""
        try:
            if decision.verdict == Verdict.DEFER_SENDER:
                if email.sender_id is not None:
                    until = now_ms + int(decision.delay_seconds * 1000)
                    self._deferrals.defer(str(email.sender_id), until, now_ms)
            elif decision.bounce in _ACTED_ON:
                assert decision.bounce is not None
                if self._bounces.record(email.id, decision.bounce):
                    log.warning("batch of email %s paused: hard bounces over the limit",
                                email.id)
        except ServiceUnavailable as error:
            log.warning("cannot record the refusal of email %s: %s", email.id, error.message)

    def deferred_seconds(self, sender_id: uuid.UUID, now_ms: int) -> float:
        """How long the sender is still held back (0: not deferred)."""
        until = self._deferrals.deferred_until_ms(str(sender_id), now_ms)
        return 0.0 if until is None else max(1, ceil((until - now_ms) / 1000))

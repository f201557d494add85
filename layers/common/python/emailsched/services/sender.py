"""The sender: what a worker does with one queue message.

For each email the message names, in due order: skip it if it is done or not ready yet,
wait for its due time if it is only just early, take a slot from its sender's limits, claim
it in the ledger (a duplicate delivery finds it taken or done), and send it. The slot comes
before the claim so that an email in `sending` always holds one, which is what lets the
limiter rebuild a lost window from the ledger exactly.

The message's outcome is either done (delete it) or "come back in N seconds" (the queue
hides it that long). Throttling never fails an email; a message throttled again and
again, or told to wait past the pump's horizon, is handed back to the ledger instead, so
throttling can never dead-letter it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from math import ceil

from emailsched.adapters.db.ledger import ClaimedEmail, EmailState, Ledger
from emailsched.adapters.smtp import SendAbandoned
from emailsched.domain.messages import parse_message
from emailsched.domain.model import EmailStatus
from emailsched.domain.retry import Decision, RetryPolicy, Verdict
from emailsched.errors import ServiceUnavailable
from emailsched.ports import Clock, Mailer, OutgoingEmail, RateLimiter

log = logging.getLogger(__name__)

# A limiter wait this short is slept through in the worker instead of a queue round trip.
SHORT_WAIT_MS = 1500
MAX_SHORT_WAITS = 20
# How soon to look again when Redis or Postgres is unreachable.
SERVICE_RETRY_SECONDS = 5.0
RECORD_TRIES = 5


@dataclass(frozen=True)
class SenderConfig:
    lease: timedelta
    early_hold: timedelta
    horizon: timedelta
    receives_before_release: int
    message_id_domain: str


@dataclass(frozen=True)
class MessageOutcome:
    done: bool
    retry_in_seconds: int = 0

    @classmethod
    def after(cls, waits: list[float]) -> MessageOutcome:
        if not waits:
            return cls(done=True)
        return cls(done=False, retry_in_seconds=max(1, ceil(min(waits))))


class SenderService:
    def __init__(self, ledger: Ledger, limiter: RateLimiter, mailer: Mailer, clock: Clock,
                 policy: RetryPolicy, config: SenderConfig):
        self._ledger, self._limiter, self._mailer = ledger, limiter, mailer
        self._clock, self._policy, self._config = clock, policy, config

    def handle(self, body: str, receive_count: int = 1) -> MessageOutcome:
        """Raises PoisonMessage for a message that can never be processed."""
        ids = parse_message(body)
        try:
            states = self._ledger.look(ids)
        except Exception as error:  # the database is unreachable: try the message later
            log.warning("cannot read emails, retrying later: %s", type(error).__name__)
            return MessageOutcome(done=False, retry_in_seconds=int(SERVICE_RETRY_SECONDS))
        pending = sorted((s for s in states if s.status == EmailStatus.QUEUED),
                         key=lambda s: (s.ready_at, s.seq))
        waits = self._send_in_order(pending, uuid.uuid4())
        if waits and self._should_hand_back(waits, receive_count):
            self._ledger.hand_back_to_pump(ids)
            return MessageOutcome(done=True)
        return MessageOutcome.after(waits)

    def _should_hand_back(self, waits: list[float], receive_count: int) -> bool:
        return (min(waits) > self._config.horizon.total_seconds()
                or receive_count >= self._config.receives_before_release)

    def _send_in_order(self, pending: list[EmailState], token: uuid.UUID) -> list[float]:
        waits: list[float] = []
        for index, state in enumerate(pending):
            early = (state.ready_at - self._clock.now()).total_seconds()
            if early > self._config.early_hold.total_seconds():
                waits.append(early)  # an early message, or an email still backing off
                continue
            self._clock.sleep(early)
            hold = self._take_slot(state)
            if hold is not None:
                rest = [s.id for s in pending[index:]]
                self._postpone(rest, hold)
                waits.append(hold)
                break
            retry = self._claim_and_send(state, token)
            if retry is not None:
                waits.append(retry)
        return waits

    def _take_slot(self, state: EmailState) -> float | None:
        """None once the limits allow this send; else seconds until they might."""
        for _ in range(MAX_SHORT_WAITS):
            try:
                permit = self._limiter.acquire(str(state.sender_id), state.hourly_limit,
                                               self._now_ms())
            except ServiceUnavailable as error:
                log.warning("limiter unavailable, holding emails: %s", error.message)
                return SERVICE_RETRY_SECONDS
            if permit.granted:
                return None
            if permit.wait_ms > SHORT_WAIT_MS:
                return permit.wait_ms / 1000
            self._clock.sleep(permit.wait_ms / 1000)
        return SHORT_WAIT_MS / 1000

    def _claim_and_send(self, state: EmailState, token: uuid.UUID) -> float | None:
        """Seconds until a retry, or None when nothing is left to do for this email."""
        granted_at = self._now_ms()
        try:
            email = self._ledger.claim(state.id, self._clock.now() + self._config.lease, token)
        except Exception as error:
            self._limiter.refund(str(state.sender_id), granted_at)
            log.warning("cannot claim email, retrying later: %s", type(error).__name__)
            return SERVICE_RETRY_SECONDS
        if email is None:  # taken by a duplicate delivery, paused or cancelled meanwhile
            self._limiter.refund(str(state.sender_id), granted_at)
            return None
        return self._deliver(email, token)

    def _deliver(self, email: ClaimedEmail, token: uuid.UUID) -> float | None:
        message_id = f"<{email.id}@{self._config.message_id_domain}>"
        committed = False

        def point_of_no_return() -> bool:
            nonlocal committed
            committed = self._ledger.mark_sent(email.id, token, self._clock.now(), message_id)
            return committed

        try:
            result = self._mailer.send(_outgoing(email, message_id), point_of_no_return)
        except SendAbandoned:
            log.info("lease lost before sending; another worker owns the email now")
            return None
        except Exception as error:  # the ledger failed at the point of no return
            log.warning("cannot record the send; the lease will hand it back: %s",
                        type(error).__name__)
            return self._config.lease.total_seconds()
        decision = self._policy.decide(result, email.attempts + 1)
        if decision.verdict == Verdict.SENT:
            return None
        retrying = decision.verdict == Verdict.RETRY
        self._record_failure(email, token, decision, retrying, committed)
        log.info("email %s %s: %s", email.id, "will be retried" if retrying else "failed",
                 decision.reason)
        return decision.delay_seconds if retrying else None

    def _record_failure(self, email: ClaimedEmail, token: uuid.UUID, decision: Decision,
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
                    reason=decision.reason or "", now=now, counted=0 if committed else 1)
                return
            except Exception as error:
                if attempt == RECORD_TRIES - 1:
                    raise
                log.warning("cannot record a failed attempt, trying again: %s",
                            type(error).__name__)
                self._clock.sleep(0.5 * (attempt + 1))

    def _postpone(self, ids: list[uuid.UUID], seconds: float) -> None:
        try:
            self._ledger.postpone(ids, self._clock.now() + timedelta(seconds=seconds))
        except Exception as error:  # the pump re-enqueues them a little early; harmless
            log.warning("cannot postpone emails: %s", type(error).__name__)

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)


def _outgoing(email: ClaimedEmail, message_id: str) -> OutgoingEmail:
    return OutgoingEmail(message_id=message_id, sender_email=email.sender_email,
                         sender_name=email.sender_name, recipient=email.recipient,
                         subject=email.subject, body_html=email.body)

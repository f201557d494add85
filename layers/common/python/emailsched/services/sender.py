"""The sender: what a worker does with one queue message.

For each email the message names: claim it in the ledger (a duplicate delivery finds it
taken or done and does nothing), wait for its due time if it is only just early, take a
slot from the sender's limits, and send it. The message's outcome is either done (delete
it) or "come back in N seconds" (the queue hides it that long). Throttling never fails an
email; a message throttled again and again, or told to wait past the pump's horizon, is
handed back to the ledger instead, so throttling can never dead-letter it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from emailsched.adapters.db.ledger import ClaimedEmail, Ledger
from emailsched.adapters.smtp import SendAbandoned
from emailsched.domain.messages import parse_message
from emailsched.domain.model import EmailStatus
from emailsched.domain.retry import RetryPolicy, Verdict
from emailsched.errors import ServiceUnavailable
from emailsched.ports import Clock, Mailer, OutgoingEmail, RateLimiter

log = logging.getLogger(__name__)

# A limiter wait this short is slept through in the worker instead of a queue round trip.
SHORT_WAIT_MS = 1500
MAX_SHORT_WAITS = 20
# How soon to look again when Redis or Postgres is unreachable.
SERVICE_RETRY_SECONDS = 5.0


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


@dataclass(frozen=True)
class Step:
    """What became of one email: nothing left to do, a retry after a backoff, or a hold
    (throttled, or a service is down) that stops the rest of the message too."""

    retry_seconds: float | None = None
    hold_seconds: float | None = None


class SenderService:
    def __init__(self, ledger: Ledger, limiter: RateLimiter, mailer: Mailer, clock: Clock,
                 policy: RetryPolicy, config: SenderConfig):
        self._ledger, self._limiter, self._mailer = ledger, limiter, mailer
        self._clock, self._policy, self._config = clock, policy, config

    def handle(self, body: str, receive_count: int = 1) -> MessageOutcome:
        """Raises PoisonMessage for a message that can never be processed."""
        ids = parse_message(body)
        now = self._clock.now()
        token = uuid.uuid4()
        try:
            claimed = self._ledger.claim_for_send(
                ids, now + self._config.early_hold, now + self._config.lease, token)
            waits = self._waits_of_unclaimed(ids, claimed, now)
        except Exception as error:  # the database is unreachable: try the message later
            log.warning("cannot claim emails, retrying later: %s", type(error).__name__)
            return MessageOutcome(done=False, retry_in_seconds=int(SERVICE_RETRY_SECONDS))
        waits += self._send_all(sorted(claimed, key=lambda e: (e.ready_at, e.seq)), token)
        if waits and self._should_hand_back(waits, receive_count):
            self._ledger.hand_back_to_pump(ids)
            return MessageOutcome(done=True)
        return MessageOutcome.after(waits)

    def _should_hand_back(self, waits: list[float], receive_count: int) -> bool:
        return (min(waits) > self._config.horizon.total_seconds()
                or receive_count >= self._config.receives_before_release)

    def _waits_of_unclaimed(self, ids: list[uuid.UUID], claimed: list[ClaimedEmail],
                            now: datetime) -> list[float]:
        """Emails still queued but not ready yet (an early message, or one retrying)."""
        taken = {e.id for e in claimed}
        missing = [i for i in ids if i not in taken]
        if not missing:
            return []
        return [(state.wake_at - now).total_seconds() for state in self._ledger.peek(missing)
                if state.status == EmailStatus.QUEUED and state.wake_at > now]

    def _send_all(self, emails: list[ClaimedEmail], token: uuid.UUID) -> list[float]:
        waits: list[float] = []
        for index, email in enumerate(emails):
            step = self._send_one(email, token)
            if step.hold_seconds is not None:
                self._release([e.id for e in emails[index:]], token, step.hold_seconds)
                waits.append(step.hold_seconds)
                break
            if step.retry_seconds is not None:
                waits.append(step.retry_seconds)
        return waits

    def _send_one(self, email: ClaimedEmail, token: uuid.UUID) -> Step:
        self._clock.sleep((email.ready_at - self._clock.now()).total_seconds())
        hold = self._take_slot(email)
        if hold is not None:
            return Step(hold_seconds=hold)
        return self._deliver(email, token)

    def _take_slot(self, email: ClaimedEmail) -> float | None:
        """None once the limits allow this send; else seconds until they might."""
        for _ in range(MAX_SHORT_WAITS):
            now_ms = int(self._clock.now().timestamp() * 1000)
            try:
                permit = self._limiter.acquire(str(email.sender_id), email.hourly_limit, now_ms)
            except ServiceUnavailable as error:
                log.warning("limiter unavailable, holding emails: %s", error.message)
                return SERVICE_RETRY_SECONDS
            if permit.granted:
                return None
            if permit.wait_ms > SHORT_WAIT_MS:
                return permit.wait_ms / 1000
            self._clock.sleep(permit.wait_ms / 1000)
        return SHORT_WAIT_MS / 1000

    def _deliver(self, email: ClaimedEmail, token: uuid.UUID) -> Step:
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
            return Step()
        except Exception as error:  # the ledger failed at the point of no return
            log.warning("cannot record the send, holding emails: %s", type(error).__name__)
            return Step(hold_seconds=SERVICE_RETRY_SECONDS)
        decision = self._policy.decide(result, email.attempts + 1)
        if decision.verdict == Verdict.SENT:
            return Step()
        retrying = decision.verdict == Verdict.RETRY
        now = self._clock.now()
        self._ledger.record_outcome(
            email.id, token, status=EmailStatus.QUEUED if retrying else EmailStatus.FAILED,
            wake_at=now + timedelta(seconds=decision.delay_seconds),
            reason=decision.reason or "", now=now, counted=0 if committed else 1)
        log.info("send %s: %s", "will retry" if retrying else "failed", decision.reason)
        return Step(retry_seconds=decision.delay_seconds) if retrying else Step()

    def _release(self, ids: list[uuid.UUID], token: uuid.UUID, seconds: float) -> None:
        try:
            self._ledger.release(ids, token, status=EmailStatus.QUEUED,
                                 wake_at=self._clock.now() + timedelta(seconds=seconds))
        except Exception as error:  # their lease runs out and the pump takes them back
            log.warning("cannot release emails: %s", type(error).__name__)


def _outgoing(email: ClaimedEmail, message_id: str) -> OutgoingEmail:
    return OutgoingEmail(message_id=message_id, sender_email=email.sender_email,
                         sender_name=email.sender_name, recipient=email.recipient,
                         subject=email.subject, body_html=email.body)

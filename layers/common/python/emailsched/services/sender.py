"""The sender: what a worker does with one queue message.

For each email the message names, in due order: skip it if it is done or not ready yet,
wait for its due time if it is only just early, take a slot from its sender's limits, claim
it in the ledger (a duplicate delivery finds it taken or done), and send it. The slot comes
before the claim so that an email in `sending` always holds one, which is what lets the
limiter rebuild a lost window from the ledger exactly.

Emails of a message that are due together and whose slots are free at once form a group:
one limiter call grants their slots, and the group send (services/group_send.py) claims,
composes, delivers and settles them; emails it released unsent are taken afresh here,
and the next group asks for no more than went out in time. A sender's own account is
judged by its rounds (services/account_health.py).

The message's outcome is either done (delete it) or "come back in N seconds" (the queue
hides it that long). Throttling never fails an email; a message throttled again and
again, or told to wait past the pump's horizon, is handed back to the ledger instead, so
throttling can never dead-letter it.

Nothing is sent outside an email's sending window (issue 15): the plan puts it inside,
and an email that something delayed past the window's close (a retry's backoff, a sender
deferral, a late message) waits for the next opening, handed back to the pump when that
is past the horizon.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from emailsched.domain.messages import parse_message
from emailsched.domain.model import EmailStatus
from emailsched.domain.recipient_zones import recipient_zone
from emailsched.domain.retry import RetryPolicy
from emailsched.domain.sending_window import SendingWindow
from emailsched.errors import ServiceUnavailable
from emailsched.ports import (
    Clock,
    EmailState,
    MailerPool,
    Metrics,
    RateLimiter,
    SenderHealthLedger,
    SenderLedger,
)
from emailsched.services.account_health import AccountHealth
from emailsched.services.deliverability import Deliverability
from emailsched.services.group_send import (
    SERVICE_RETRY_SECONDS,
    GroupParts,
    GroupSend,
    Slot,
)
from emailsched.services.send_outcomes import Settlement

log = logging.getLogger(__name__)

# An invocation starts no new group of emails this close to its timeout: a round under way
# finishes (a slow server's round trips), and the message comes back for the rest.
SAFETY_SECONDS = 15.0
# A limiter wait this short is slept through in the worker instead of a queue round trip.
SHORT_WAIT_MS = 1500
MAX_SHORT_WAITS = 20
# At most this many emails granted slots together and claimed in one statement (sent in
# rounds of the mailer's connections): the claim is a quarter of a worker's CPU, so bigger
# groups send faster (BENCHMARKS.md, "Design decisions measured").
MAX_GROUP = 20


@dataclass(frozen=True)
class SenderConfig:
    lease: timedelta
    early_hold: timedelta
    horizon: timedelta
    receives_before_release: int
    failures_before_hold: int  # SENDER_FAILURES_BEFORE_HOLD


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
    def __init__(self, ledger: SenderLedger, limiter: RateLimiter, mailers: MailerPool,
                 clock: Clock, policy: RetryPolicy, config: SenderConfig, metrics: Metrics,
                 health: SenderHealthLedger, deliverability: Deliverability):
        """`mailers`: a mailer per sender. `health`: where a sender's account failures
        are counted (its emails held after `config.failures_before_hold` in a row)."""
        self._ledger, self._limiter, self._clock = ledger, limiter, clock
        self._config, self._metrics, self._deliverability = config, metrics, deliverability
        settlement = Settlement(ledger, clock, policy, metrics, deliverability)
        accounts = AccountHealth(health, ledger, clock, policy, metrics,
                                 config.failures_before_hold)
        self._group = GroupSend(GroupParts(ledger, limiter, mailers, clock, metrics,
                                           deliverability, settlement, accounts, config.lease))
        self._group_size = MAX_GROUP  # fitted to what goes out in time (_fit_group_size)

    def handle(self, body: str, receive_count: int = 1,
               deadline: datetime | None = None) -> MessageOutcome:
        """Raises PoisonMessage for a message that can never be processed. Past `deadline`
        (the invocation's end draws near) no new group is started: the message comes back
        at once for the emails left. Any other error is a bug: it is logged, naming the
        exception, and raised, so the message is reported as failed (and dead-lettered
        after its receives) instead of retried as if a service were down."""
        ids = parse_message(body)
        try:
            return self._handle(ids, receive_count, deadline)
        except ServiceUnavailable:
            raise
        except Exception as error:  # the message boundary: fail loudly, never "unavailable"
            log.exception("message for %d email(s) failed on %s: %s", len(ids),
                          type(error).__name__, error)
            raise

    def _handle(self, ids: list[uuid.UUID], receive_count: int,
                deadline: datetime | None) -> MessageOutcome:
        with self._ledger.pinned():
            try:
                states = self._ledger.look(ids)
            except ServiceUnavailable as error:  # try the message later
                log.warning("cannot read emails, retrying later: %s", error.message)
                return MessageOutcome(done=False, retry_in_seconds=int(SERVICE_RETRY_SECONDS))
            pending = sorted((s for s in states if s.status == EmailStatus.QUEUED),
                             key=lambda s: (s.ready_at, s.seq))
            waits = self._send_in_order(pending, uuid.uuid4(), deadline)
            if waits and self._should_hand_back(waits, receive_count):
                self._ledger.return_to_pump(ids)
                return MessageOutcome(done=True)
        return MessageOutcome.after(waits)

    def _should_hand_back(self, waits: list[float], receive_count: int) -> bool:
        return (min(waits) > self._config.horizon.total_seconds()
                or receive_count >= self._config.receives_before_release)

    def _send_in_order(self, pending: list[EmailState], token: uuid.UUID,
                       deadline: datetime | None) -> list[float]:
        waits: list[float] = []
        todo = deque(pending)
        while todo:
            if deadline is not None and self._clock.now() >= deadline:
                waits.append(0.0)  # out of time: the rest stay queued for the next look
                break
            early = (todo[0].ready_at - self._clock.now()).total_seconds()
            if early > self._config.early_hold.total_seconds():
                waits.append(early)  # an early message, or an email still backing off
                todo.popleft()
                continue
            self._clock.sleep(early)
            closed = _seconds_to_window(todo[0], self._now_ms())
            if closed:  # a retry or a hold ran past its window's close: wait for it to open
                self._postpone([todo[0].id], closed)
                waits.append(closed)
                todo.popleft()
                continue
            deferred = self._deliverability.deferred_seconds(todo[0].sender_id, self._now_ms())
            if deferred:  # a server deferred this sender: its emails wait, attempts unused
                self._postpone([s.id for s in todo], deferred)
                waits.append(deferred)
                break
            group, hold = self._take_slots(todo)
            if not group:
                self._metrics.count("emails_throttled", len(todo))
                self._postpone([s.id for s in todo], hold)
                waits.append(hold)
                break
            released, retries = self._group.send(group, token)
            self._fit_group_size(len(group), len(released))
            waits.extend(retries)
            todo.extendleft(reversed(released))
        return waits

    def _take_slots(self, todo: deque[EmailState]) -> tuple[list[Slot], float]:
        """Slots for the first email of `todo` and the ones after it that are due now and
        count against the same limit, as many as the limits allow at once (up to
        MAX_GROUP), taken off `todo`. With none granted, the seconds until one might be."""
        first = todo[0]
        for _ in range(MAX_SHORT_WAITS):
            now_ms = self._now_ms()
            try:
                permit = self._limiter.acquire(str(first.sender_id), first.limits,
                                               self._due_alike(todo))
            except ServiceUnavailable as error:
                log.warning("limiter unavailable, holding emails: %s", error.message)
                return [], SERVICE_RETRY_SECONDS
            if permit.granted:
                return [Slot(todo.popleft(), now_ms, permit.granted_at_ms)
                        for _ in range(permit.slots)], 0.0
            if permit.wait_ms > SHORT_WAIT_MS:
                return [], permit.wait_ms / 1000
            self._clock.sleep(permit.wait_ms / 1000)
        return [], SHORT_WAIT_MS / 1000

    def _due_alike(self, todo: deque[EmailState]) -> int:
        """How many emails from the front of `todo` may share a group with the first: due,
        of the same sender, with identical limits."""
        first, now = todo[0], self._clock.now()
        count = 1
        while count < min(len(todo), self._group_size):
            state = todo[count]
            if (state.ready_at > now or state.sender_id != first.sender_id
                    or state.limits != first.limits
                    or _seconds_to_window(state, self._now_ms())):
                break
            count += 1
        return count

    def _fit_group_size(self, granted: int, released: int) -> None:
        """A busy machine sends a group's later rounds too late (GROUP_SEND_BUDGET_MS): they
        are released, refunded, then granted and claimed again. Ask next time for as many
        as went out in time; grow back by one with each group sent whole."""
        if released:
            self._group_size = max(1, granted - released)
        elif granted >= self._group_size:
            self._group_size = min(MAX_GROUP, self._group_size + 1)

    def _postpone(self, ids: list[uuid.UUID], seconds: float) -> None:
        try:
            self._ledger.postpone(ids, self._clock.now() + timedelta(seconds=seconds))
        except ServiceUnavailable as error:  # the pump re-enqueues them early; harmless
            log.warning("cannot postpone emails: %s", error.message)

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)


def _seconds_to_window(state: EmailState, now_ms: int) -> float:
    """0 inside the email's sending window (or without one), else the seconds until the
    next opening (in the recipient's own zone where they have one)."""
    if state.sending_window is None:
        return 0.0
    zone = recipient_zone({"timezone": state.recipient_timezone}
                          if state.recipient_timezone else None)
    window = _window(json.dumps(state.sending_window, sort_keys=True), zone)
    return max(0, window.next_opening_ms(now_ms) - now_ms) / 1000


@functools.lru_cache(maxsize=1024)
def _window(stored: str, zone: str | None) -> SendingWindow:
    """A batch's window in a recipient's zone, parsed once per worker (its openings are
    cached on it). A zone was checked when the batch was scheduled."""
    window = SendingWindow.from_api(json.loads(stored))
    return window if zone is None else window.in_zone(zone)

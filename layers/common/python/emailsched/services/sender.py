"""The sender: what a worker does with one queue message.

For each email the message names, in due order: skip it if it is done or not ready yet,
wait for its due time if it is only just early, take a slot from its sender's limits, claim
it in the ledger (a duplicate delivery finds it taken or done), and send it. The slot comes
before the claim so that an email in `sending` always holds one, which is what lets the
limiter rebuild a lost window from the ledger exactly.

Emails of a message that are due together and whose slots are free at once form a group:
one limiter call grants their slots and one statement claims them all. The mailer sends a
group in rounds of as many emails as it has connections, and one commit marks a round
`sent` at its point of no return. A group's later emails must still reach the server in
the window their slots counted in, so a round not started within GROUP_SEND_BUDGET_MS of
the grants is released unsent and its slots refunded; its emails are then taken afresh.

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

from emailsched.domain.bounces import BounceClass, classify_reply
from emailsched.domain.compose import ComposeRules, RenderFailed
from emailsched.domain.messages import parse_message
from emailsched.domain.model import EmailStatus
from emailsched.domain.recipient_zones import recipient_zone
from emailsched.domain.retry import Decision, RetryPolicy, SendResult, Verdict
from emailsched.domain.sending_window import SendingWindow
from emailsched.errors import ServiceUnavailable
from emailsched.ports import (
    ClaimedEmail,
    ClaimedEmails,
    Clock,
    EmailState,
    Mailer,
    MailerPool,
    Metrics,
    OutgoingEmail,
    RateLimiter,
    SenderHealthLedger,
    SenderLedger,
)
from emailsched.services.deliverability import Deliverability

log = logging.getLogger(__name__)

# An invocation starts no new group of emails this close to its timeout: a round under way
# finishes (a slow server's round trips), and the message comes back for the rest.
SAFETY_SECONDS = 15.0
# A limiter wait this short is slept through in the worker instead of a queue round trip.
SHORT_WAIT_MS = 1500
MAX_SHORT_WAITS = 20
# How soon to look again when Redis or Postgres is unreachable.
SERVICE_RETRY_SECONDS = 5.0
RECORD_TRIES = 5
# Checks of whether an interrupted `sent` commit landed, over about 10 s: well inside the
# minutes an SMTP server waits for the end of a message.
CONFIRM_TRIES = 6
# At most this many emails granted slots together and claimed in one statement (sent in
# rounds of the mailer's connections): the claim is a quarter of a worker's CPU, so bigger
# groups send faster (BENCHMARKS.md, "Design decisions measured").
MAX_GROUP = 20
# A slot granted in a window's last 250 ms (windows.MAX_SPILL_MS) counts in the next window
# too; one granted earlier must be sent before its window ends. Starting each round of a
# group within this much of the grants keeps well inside that.
GROUP_SEND_BUDGET_MS = 150


@dataclass(frozen=True)
class SenderConfig:
    lease: timedelta
    early_hold: timedelta
    horizon: timedelta
    receives_before_release: int
    message_id_domain: str | None  # None: the sender's own domain
    failures_before_hold: int = 3  # SENDER_FAILURES_BEFORE_HOLD


@dataclass(frozen=True)
class _Slot:
    state: EmailState
    granted_ms: int  # the worker's clock, for GROUP_SEND_BUDGET_MS
    counted_at_ms: int  # the limiter's clock (Permit.granted_at_ms), for a refund


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
    def __init__(self, ledger: SenderLedger, limiter: RateLimiter, mailer: Mailer | MailerPool,
                 clock: Clock, policy: RetryPolicy, config: SenderConfig,
                 metrics: Metrics | None = None, health: SenderHealthLedger | None = None,
                 deliverability: Deliverability | None = None):
        """`mailer`: one Mailer for every email, or a MailerPool with one per sender.
        `health`: where a sender's account failures are counted (its emails held after
        `config.failures_before_hold` in a row); without it they fail like any other."""
        self._ledger, self._limiter = ledger, limiter
        self._mailers: MailerPool = (mailer if isinstance(mailer, MailerPool)
                                     else _OneMailer(mailer))
        self._health = health
        self._clock, self._policy, self._config = clock, policy, config
        self._metrics: Metrics = metrics or _NoMetrics()
        self._deliverability = deliverability or Deliverability(ComposeRules(
            "http://127.0.0.1:8000", b"unsubscribe-key-of-unit-tests!", config.message_id_domain))

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
            released, retries = self._claim_and_send(group, token)
            waits.extend(retries)
            todo.extendleft(reversed(released))
        return waits

    def _take_slots(self, todo: deque[EmailState]) -> tuple[list[_Slot], float]:
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
                return [_Slot(todo.popleft(), now_ms, permit.granted_at_ms)
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
        while count < min(len(todo), MAX_GROUP):
            state = todo[count]
            if (state.ready_at > now or state.sender_id != first.sender_id
                    or state.limits != first.limits
                    or _seconds_to_window(state, self._now_ms())):
                break
            count += 1
        return count

    def _claim_and_send(self, group: list[_Slot],
                        token: uuid.UUID) -> tuple[list[EmailState], list[float]]:
        """Claims the group's emails and sends them in order. Returns the emails released
        unsent (to take again) and the seconds until each retry still to come."""
        lease_until = self._clock.now() + self._config.lease
        try:
            claimed = self._ledger.claim([s.state.id for s in group], lease_until, token)
        except ServiceUnavailable as error:
            self._refund(group)
            log.warning("cannot claim emails, retrying later: %s", error.message)
            return [], [SERVICE_RETRY_SECONDS]
        if isinstance(claimed, ClaimedEmails) and claimed.suppressed:
            self._metrics.count("emails_suppressed", claimed.suppressed)
        by_id = {email.id: email for email in claimed}
        # The others were taken by a duplicate delivery, or paused or cancelled meanwhile
        # (or suppressed since scheduling: ended by the claim, counted above).
        self._refund([s for s in group if s.state.id not in by_id])
        mine = [s for s in group if s.state.id in by_id]
        composed = self._compose(mine, by_id, token)
        mine = [s for s in mine if s.state.id in composed]
        granted_ms = min(s.granted_ms for s in group)
        waits: list[float] = []
        first = by_id[mine[0].state.id] if mine else None
        mailer = self._mailers.mailer_for(first.sender_id if first else None,
                                          first.sender_kind if first else "relay")
        size = max(1, mailer.sessions)
        for start in range(0, len(mine), size):
            if start and self._now_ms() - granted_ms > GROUP_SEND_BUDGET_MS:
                released, retries = self._release(mine[start:], token)
                return released, waits + retries
            round_ = mine[start:start + size]
            waits += self._deliver([by_id[s.state.id] for s in round_], token,
                                   {s.state.id: s.state.ready_at for s in round_}, mailer,
                                   composed)
        return [], waits

    def _compose(self, slots: list[_Slot], by_id: dict[uuid.UUID, ClaimedEmail],
                 token: uuid.UUID) -> dict[uuid.UUID, OutgoingEmail]:
        """Each claimed email as it goes out; one whose template cannot be rendered for its
        recipient fails now, unsent, and gives its slot back."""
        composed: dict[uuid.UUID, OutgoingEmail] = {}
        for slot in slots:
            email = by_id[slot.state.id]
            try:
                composed[email.id] = self._deliverability.compose(email)
            except RenderFailed as error:
                self._record_failure(email, token, Decision(Verdict.FAIL, reason=str(error)),
                                     retrying=False, committed=False)
                self._refund([slot])
        return composed

    def _release(self, slots: list[_Slot],
                 token: uuid.UUID) -> tuple[list[EmailState], list[float]]:
        try:
            ids = set(self._ledger.return_to_queue([s.state.id for s in slots], token,
                                                   self._clock.now()))
        except ServiceUnavailable as error:  # they keep their slots until the lease ends
            log.warning("cannot return emails to the queue: %s", error.message)
            return [], [self._config.lease.total_seconds()]
        released = [s for s in slots if s.state.id in ids]
        self._refund(released)  # only now: an email in `sending` always holds a slot
        return [s.state for s in released], []

    def _refund(self, slots: list[_Slot]) -> None:
        for slot in slots:
            self._limiter.refund(str(slot.state.sender_id), slot.counted_at_ms,
                                 slot.state.limits)

    def _deliver(self, emails: list[ClaimedEmail], token: uuid.UUID,
                 due: dict[uuid.UUID, datetime] | None = None,
                 mailer: Mailer | None = None,
                 composed: dict[uuid.UUID, OutgoingEmail] | None = None) -> list[float]:
        """Sends one round; the seconds until each retry it leaves to come. `due`: each
        email's not-before time, for the lateness metric; `composed`: the emails as they
        go out (composed here where not given)."""
        outgoing = [composed[email.id] if composed and email.id in composed
                    else self._deliverability.compose(email) for email in emails]
        committed: set[uuid.UUID] = set()
        interrupted = False

        def point_of_no_return(ready: list[int]) -> list[int]:
            nonlocal committed, interrupted
            sends = [(emails[i].id, outgoing[i].message_id) for i in ready]
            try:
                committed = self._ledger.mark_sent(sends, token, self._clock.now())
            except ServiceUnavailable as error:
                interrupted = True
                committed = self._which_sent_landed([i for i, _ in sends], token, error)
            return [i for i in ready if emails[i].id in committed]

        round_started = self._clock.now()
        try:
            results = (mailer or self._mailers.mailer_for(None, "relay")).send_round(
                outgoing, point_of_no_return)
        except ServiceUnavailable as error:  # the ledger failed at the point of no return
            log.warning("cannot record the sends; the lease will hand them back: %s",
                        error.message)
            return [self._config.lease.total_seconds()]
        waits: list[float] = []
        abandoned = [email.id for email, result in zip(emails, results, strict=True)
                     if result is None]
        if abandoned and interrupted:  # still ours and unsent: put back to be sent again
            waits.append(self._return_unsent(abandoned, token))
        elif abandoned:
            log.info("lease lost before sending %d email(s); another worker owns them now",
                     len(abandoned))
        self._metrics.observe("send_latency_ms", _ms(self._clock.now() - round_started))
        results, held_waits = self._account_health(emails, results, token)
        waits += held_waits
        for email, result in zip(emails, results, strict=True):
            if result is not None:
                if result.accepted and email.id in committed and due and email.id in due:
                    self._metrics.observe("lateness_ms", _ms(self._clock.now() - due[email.id]))
                retry = self._settle(email, token, result, email.id in committed)
                if retry is not None:
                    waits.append(retry)
        return waits

    def _account_health(self, emails: list[ClaimedEmail], results: list[SendResult | None],
                        token: uuid.UUID) -> tuple[list[SendResult | None], list[float]]:
        """A round of a sender with its own account (a group never mixes senders) that
        could not connect or log in counts one failure of that account, uses no attempt
        of its emails, and at the threshold holds all of its unsent emails. Returns the
        results still to settle one by one, and the waits of the emails put back."""
        first = emails[0]
        # Every kind with an account of its own (smtp, and google or microsoft by OAuth).
        if self._health is None or first.sender_id is None or first.sender_kind == "relay":
            return results, []
        failed = [i for i, r in enumerate(results) if r is not None and r.account_failure]
        if not failed:
            if first.sender_failures and any(r is not None and r.accepted for r in results):
                self._health.account_worked(first.sender_id)
            return results, []
        error = results[failed[0]]
        assert error is not None
        reason = f"{error.code} {error.reply}".strip() if error.code else error.reply
        if self._health.account_failed(first.sender_id, reason,
                                       self._config.failures_before_hold):
            held = self._health.hold_sender(first.sender_id, [emails[i].id for i in failed],
                                            token)
            self._metrics.count("emails_held", held)
            log.warning("sender %s is failing (%s): %d email(s) held", first.sender_id,
                        reason, held)
            waits: list[float] = []
        else:
            waits = [self._retry_unattempted(emails[i], token, reason, first.sender_failures)
                     for i in failed]
        return [None if i in failed else r for i, r in enumerate(results)], waits

    def _retry_unattempted(self, email: ClaimedEmail, token: uuid.UUID, reason: str,
                           failures: int) -> float:
        """Back to the queue after the account's backoff, the attempt not counted."""
        delay = self._policy.backoff(failures + 1)
        now = self._clock.now()
        self._ledger.record_outcome(email.id, token, status=EmailStatus.QUEUED,
                                    wake_at=now + timedelta(seconds=delay), reason=reason,
                                    now=now, counted=0)
        return delay

    def _settle(self, email: ClaimedEmail, token: uuid.UUID, result: SendResult,
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
        self._record_failure(email, token, decision, retrying, committed)
        self._deliverability.after_refusal(email, decision, self._now_ms())
        if retrying:
            self._metrics.count("emails_deferred")
        else:
            self._metrics.count("emails_failed", 1, **{"class": _failure_class(result)})
        log.info("email %s %s: %s", email.id, "will be retried" if retrying else "failed",
                 decision.reason)
        return decision.delay_seconds if retrying else None

    def _return_unsent(self, ids: list[uuid.UUID], token: uuid.UUID) -> float:
        try:
            self._ledger.return_to_queue(ids, token, self._clock.now())
        except ServiceUnavailable as error:  # the lease hands them back instead
            log.warning("cannot return unsent emails to the queue: %s", error.message)
            return self._config.lease.total_seconds()
        return 1.0

    def _which_sent_landed(self, ids: list[uuid.UUID], token: uuid.UUID,
                           error: ServiceUnavailable) -> set[uuid.UUID]:
        """The commit of `sent` failed in flight: it may have landed all the same. Ask the
        ledger again, while the SMTP server waits for the final "."; raise (the sends are
        abandoned) only if the ledger cannot be reached to tell."""
        log.warning("recording sends failed (%s); checking whether it landed", error.message)
        for attempt in range(CONFIRM_TRIES):
            try:
                return self._ledger.sent_by(ids, token)
            except ServiceUnavailable:
                self._clock.sleep(0.5 * (attempt + 1))
        log.error("cannot tell whether %d email(s) were recorded as sent; not sending them",
                  len(ids))
        raise error

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
                    reason=decision.reason or "", now=now,
                    counted=_attempts_counted(decision, committed))
                return
            except ServiceUnavailable as error:
                if attempt == RECORD_TRIES - 1:
                    raise
                log.warning("cannot record a failed attempt, trying again: %s", error.message)
                self._clock.sleep(0.5 * (attempt + 1))

    def _postpone(self, ids: list[uuid.UUID], seconds: float) -> None:
        try:
            self._ledger.postpone(ids, self._clock.now() + timedelta(seconds=seconds))
        except ServiceUnavailable as error:  # the pump re-enqueues them early; harmless
            log.warning("cannot postpone emails: %s", error.message)

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)


def _attempts_counted(decision: Decision, committed: bool) -> int:
    """What a failed attempt adds to `attempts`: the `sent` commit counted it already; a
    sender-level deferral uses none of the email's attempts (so it takes that back)."""
    if decision.verdict == Verdict.DEFER_SENDER:
        return -1 if committed else 0
    return 0 if committed else 1


def _ms(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() * 1000)


def _failure_class(result: SendResult) -> str:
    """The emails_failed class: hard_bounce, policy, transient_exhausted or other."""
    found = classify_reply(result.code, result.reply)
    if found in (BounceClass.HARD_BOUNCE, BounceClass.POLICY):
        return found.value
    if not result.outcome_unknown and not found.is_permanent:
        return "transient_exhausted"
    return "other"


class _OneMailer:
    """A MailerPool of one mailer for every sender (tests, and a deployment's relay)."""

    def __init__(self, mailer: Mailer):
        self._mailer = mailer

    def mailer_for(self, sender_id: uuid.UUID | None, kind: str) -> Mailer:
        return self._mailer

    def close(self) -> None:
        self._mailer.close()


class _NoMetrics:
    def count(self, name: str, value: int = 1, **dims: str) -> None:
        return None

    def observe(self, name: str, value_ms: float) -> None:
        return None

    def gauge(self, name: str, value: float) -> None:
        return None


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

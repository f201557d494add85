"""The group send: emails of one message that were granted their slots together are
claimed in one statement, composed, sent in rounds of as many emails as the mailer has
connections with one `sent` commit per round at its point of no return, and settled.

A group's later emails must still reach the server in the window their slots counted
in, so a round not started within GROUP_SEND_BUDGET_MS of the grants is released unsent
and its slots refunded; the message loop (services/sender.py) takes them afresh.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from emailsched.domain.compose import RenderFailed
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.retry import Decision, SendResult, Verdict
from emailsched.errors import ServiceUnavailable
from emailsched.ports import (
    ClaimedEmail,
    ClaimedEmails,
    Clock,
    EmailState,
    Mailer,
    MailerPool,
    Metrics,
    RateLimiter,
    SenderLedger,
)
from emailsched.services.account_health import AccountHealth
from emailsched.services.deliverability import Deliverability
from emailsched.services.send_outcomes import Settlement

log = logging.getLogger("emailsched.services.sender")
_Confirm = Callable[[list[uuid.UUID], uuid.UUID, ServiceUnavailable], set[uuid.UUID]]

# How soon to look again when Redis or Postgres is unreachable.
SERVICE_RETRY_SECONDS = 5.0
# Checks of whether an interrupted `sent` commit landed, over about 10 s: well inside the
# minutes an SMTP server waits for the end of a message.
CONFIRM_TRIES = 6
# A slot granted in a window's last 250 ms (windows.MAX_SPILL_MS) counts in the next window
# too; one granted earlier must be sent before its window ends. Starting each round of a
# group within this much of the grants keeps well inside that.
GROUP_SEND_BUDGET_MS = 150


@dataclass(frozen=True)
class Slot:
    """One email's grant from the limiter."""

    state: EmailState
    granted_ms: int  # the worker's clock, for GROUP_SEND_BUDGET_MS
    counted_at_ms: int  # the limiter's clock (Permit.granted_at_ms), for a refund


@dataclass(frozen=True)
class GroupParts:
    """The group send's collaborators, as the sender service wires them."""

    ledger: SenderLedger
    limiter: RateLimiter
    mailers: MailerPool
    clock: Clock
    metrics: Metrics
    deliverability: Deliverability
    settlement: Settlement
    health: AccountHealth
    lease: timedelta


class GroupSend:
    def __init__(self, parts: GroupParts):
        self._parts = parts
        self._ledger, self._clock, self._metrics = parts.ledger, parts.clock, parts.metrics
        self._settlement = parts.settlement

    def send(self, group: list[Slot],
             token: uuid.UUID) -> tuple[list[EmailState], list[float]]:
        """Claims the group's emails and sends them in order. Returns the emails released
        unsent (to take again) and the seconds until each retry still to come."""
        claimed = self._claim(group, token)
        if claimed is None:
            return [], [SERVICE_RETRY_SECONDS]
        by_id = {email.id: email for email in claimed}
        # The others were taken by a duplicate delivery, or paused or cancelled meanwhile
        # (or suppressed since scheduling: ended by the claim, counted there).
        self.refund([s for s in group if s.state.id not in by_id])
        mine = [s for s in group if s.state.id in by_id]
        composed = self._compose(mine, by_id, token)
        mine = [s for s in mine if s.state.id in composed]
        if not mine:
            return [], []
        first = by_id[mine[0].state.id]
        mailer = self._parts.mailers.mailer_for(first.sender_id, first.sender_kind)
        granted_ms = min(s.granted_ms for s in group)
        return self._rounds(mine, by_id, composed, mailer, granted_ms, token)

    def _claim(self, group: list[Slot], token: uuid.UUID) -> list[ClaimedEmail] | None:
        """The group's emails still `queued`, now ours; None when the ledger cannot say."""
        lease_until = self._clock.now() + self._parts.lease
        try:
            claimed = self._ledger.claim([s.state.id for s in group], lease_until, token)
        except ServiceUnavailable as error:
            self.refund(group)
            log.warning("cannot claim emails, retrying later: %s", error.message)
            return None
        if isinstance(claimed, ClaimedEmails) and claimed.suppressed:
            self._metrics.count("emails_suppressed", claimed.suppressed)
        return claimed

    def _rounds(self, mine: list[Slot], by_id: dict[uuid.UUID, ClaimedEmail],
                composed: dict[uuid.UUID, OutgoingEmail], mailer: Mailer, granted_ms: int,
                token: uuid.UUID) -> tuple[list[EmailState], list[float]]:
        waits: list[float] = []
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

    def _compose(self, slots: list[Slot], by_id: dict[uuid.UUID, ClaimedEmail],
                 token: uuid.UUID) -> dict[uuid.UUID, OutgoingEmail]:
        """Each claimed email as it goes out; one whose template cannot be rendered for its
        recipient fails now, unsent, and gives its slot back."""
        composed: dict[uuid.UUID, OutgoingEmail] = {}
        for slot in slots:
            email = by_id[slot.state.id]
            try:
                composed[email.id] = self._parts.deliverability.compose(email)
            except RenderFailed as error:
                self._settlement.record_failure(
                    email, token, Decision(Verdict.FAIL, reason=str(error)), retrying=False,
                    committed=False)
                self.refund([slot])
        return composed

    def _release(self, slots: list[Slot],
                 token: uuid.UUID) -> tuple[list[EmailState], list[float]]:
        try:
            ids = set(self._ledger.return_to_queue([s.state.id for s in slots], token,
                                                   self._clock.now()))
        except ServiceUnavailable as error:  # they keep their slots until the lease ends
            log.warning("cannot return emails to the queue: %s", error.message)
            return [], [self._parts.lease.total_seconds()]
        released = [s for s in slots if s.state.id in ids]
        self.refund(released)  # only now: an email in `sending` always holds a slot
        return [s.state for s in released], []

    def refund(self, slots: list[Slot]) -> None:
        """One limiter call per grant: a group's slots share theirs (and its limits)."""
        grants = Counter((s.state.sender_id, s.counted_at_ms, s.state.limits) for s in slots)
        for (sender_id, counted_at_ms, limits), count in grants.items():
            self._parts.limiter.refund(str(sender_id), counted_at_ms, limits, count)

    def _deliver(self, emails: list[ClaimedEmail], token: uuid.UUID,
                 due: dict[uuid.UUID, datetime], mailer: Mailer,
                 composed: dict[uuid.UUID, OutgoingEmail]) -> list[float]:
        """Sends one round; the seconds until each retry it leaves to come. `due`: each
        email's not-before time, for the lateness metric."""
        outgoing = [composed[email.id] for email in emails]
        commit = _RoundCommit(self._ledger, self._clock, self.which_sent_landed, emails,
                              outgoing, token)
        round_started = self._clock.now()
        try:
            results = mailer.send_round(outgoing, commit.point_of_no_return)
        except ServiceUnavailable as error:  # the ledger failed at the point of no return
            log.warning("cannot record the sends; the lease will hand them back: %s",
                        error.message)
            return [self._parts.lease.total_seconds()]
        waits = self._abandoned(emails, results, commit, token)
        self._metrics.observe("send_latency_ms", _ms(self._clock.now() - round_started))
        results, held_waits = self._parts.health.review(emails, results, token)
        return waits + held_waits + self._settle(emails, results, commit.committed, due, token)

    def _abandoned(self, emails: list[ClaimedEmail], results: list[SendResult | None],
                   commit: _RoundCommit, token: uuid.UUID) -> list[float]:
        abandoned = [email.id for email, result in zip(emails, results, strict=True)
                     if result is None]
        if abandoned and commit.interrupted:  # still ours and unsent: send them again
            return [self._return_unsent(abandoned, token)]
        if abandoned:
            log.info("lease lost before sending %d email(s); another worker owns them now",
                     len(abandoned))
        return []

    def _settle(self, emails: list[ClaimedEmail], results: list[SendResult | None],
                committed: set[uuid.UUID], due: dict[uuid.UUID, datetime],
                token: uuid.UUID) -> list[float]:
        waits: list[float] = []
        for email, result in zip(emails, results, strict=True):
            if result is None:
                continue
            if result.accepted and email.id in committed and email.id in due:
                self._metrics.observe("lateness_ms", _ms(self._clock.now() - due[email.id]))
            retry = self._settlement.settle(email, token, result, email.id in committed)
            if retry is not None:
                waits.append(retry)
        return waits

    def _return_unsent(self, ids: list[uuid.UUID], token: uuid.UUID) -> float:
        try:
            self._ledger.return_to_queue(ids, token, self._clock.now())
        except ServiceUnavailable as error:  # the lease hands them back instead
            log.warning("cannot return unsent emails to the queue: %s", error.message)
            return self._parts.lease.total_seconds()
        return 1.0

    def which_sent_landed(self, ids: list[uuid.UUID], token: uuid.UUID,
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

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)


class _RoundCommit:
    """A round's point of no return: one `sent` commit for the emails the server holds;
    which of them it recorded, and whether the commit was interrupted."""

    def __init__(self, ledger: SenderLedger, clock: Clock, confirm: _Confirm,
                 emails: list[ClaimedEmail], outgoing: list[OutgoingEmail], token: uuid.UUID):
        self._ledger, self._clock, self._confirm = ledger, clock, confirm
        self._emails, self._outgoing, self._token = emails, outgoing, token
        self.committed: set[uuid.UUID] = set()
        self.interrupted = False

    def point_of_no_return(self, ready: list[int]) -> list[int]:
        sends = [(self._emails[i].id, self._outgoing[i].message_id) for i in ready]
        try:
            self.committed = self._ledger.mark_sent(sends, self._token, self._clock.now())
        except ServiceUnavailable as error:
            self.interrupted = True
            self.committed = self._confirm([i for i, _ in sends], self._token, error)
        return [i for i in ready if self._emails[i].id in self.committed]


def _ms(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() * 1000)

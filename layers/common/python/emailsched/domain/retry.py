"""What to do after an SMTP attempt, decided by pure code so it can be tested as a table.

A refusal is read by its enhanced status code (domain/bounces.py): hard bounces and policy
blocks fail at once (the decision names the class, so the sender suppresses or counts);
a sender-level deferral (421, 4.7.x) puts the email back without using its attempt while
the sender is held back; other 4xx and lost connections are retried with backoff."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from emailsched.domain.bounces import BounceClass, classify_reply


class Verdict(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAIL = "fail"
    # The server deferred the sender, not this email: back to the queue after the
    # deferral, the attempt not counted, and the sender's other emails held back too.
    DEFER_SENDER = "defer_sender"


class FailureKind(StrEnum):
    """Whom a failed attempt is about: this recipient, or the sender's own account."""

    RECIPIENT = "recipient"  # a reply to this email (a 5xx to one recipient stays here)
    CONNECTION = "connection"  # the server could not be reached, TLS failed
    AUTH = "auth"  # the server refused the login (535)


@dataclass(frozen=True)
class SendResult:
    """What one SMTP attempt came to: accepted, or the server's code and reply."""

    accepted: bool
    code: int | None = None  # SMTP reply code; None for a connection or protocol error
    reply: str = ""
    # The connection broke after the server had the whole message: it may have delivered it.
    outcome_unknown: bool = False
    kind: FailureKind = FailureKind.RECIPIENT

    @property
    def account_failure(self) -> bool:
        """The sender's account failed (before anything of this email was sent)."""
        return not self.accepted and self.kind is not FailureKind.RECIPIENT


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    delay_seconds: float = 0.0
    reason: str | None = None
    bounce: BounceClass | None = None  # the refusal's class, for a recipient's refusal


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float = 2.0
    sender_deferral_seconds: float = 600.0  # SENDER_DEFERRAL_SECONDS
    # SENDER_DEFERRAL_MAX_HOURS (0: never): a deferral uses no attempt, so an email whose
    # server defers its sender for good would wait for ever; past this long after its due
    # time it fails instead, as an MTA bounces what sat in its queue too long.
    sender_deferral_max_seconds: float = 72 * 3600.0

    def decide(self, result: SendResult, attempts_made: int,
               overdue_seconds: float = 0.0) -> Decision:
        """`attempts_made` counts the attempt that produced `result`; `overdue_seconds`:
        how long ago the email was due."""
        if result.accepted:
            return Decision(Verdict.SENT)
        reason = _describe(result)
        if result.outcome_unknown:
            # Sending again could deliver it twice; at most once wins.
            return Decision(Verdict.FAIL, reason=f"{reason}; not sent again, since the "
                                                 "server may have delivered it")
        bounce = None
        if result.kind is FailureKind.RECIPIENT and result.code is not None:
            bounce = classify_reply(result.code, result.reply)
            if bounce is BounceClass.SENDER_DEFERRAL:
                if 0 < self.sender_deferral_max_seconds <= overdue_seconds:
                    hours = self.sender_deferral_max_seconds / 3600
                    return Decision(Verdict.FAIL, reason=f"{reason}; the server kept deferring "
                                    f"this sender for over {hours:g} h past the email's due "
                                    "time (SENDER_DEFERRAL_MAX_HOURS)", bounce=bounce)
                return Decision(Verdict.DEFER_SENDER, self.sender_deferral_seconds, reason,
                                bounce)
        if is_permanent(result) or attempts_made >= self.max_attempts:
            return Decision(Verdict.FAIL, reason=reason, bounce=bounce)
        return Decision(Verdict.RETRY, self.backoff(attempts_made), reason, bounce)

    def backoff(self, attempts_made: int) -> float:
        """2 s after the first failure, 4 s after the second, ..."""
        return self.base_seconds * 2 ** (attempts_made - 1)


def is_permanent(result: SendResult) -> bool:
    return result.code is not None and 500 <= result.code < 600


def _describe(result: SendResult) -> str:
    if result.code is None:
        return result.reply or "connection failed"
    return f"{result.code} {result.reply}".strip()

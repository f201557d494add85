"""What to do after an SMTP attempt, decided by pure code so it can be tested as a table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAIL = "fail"


@dataclass(frozen=True)
class SendResult:
    """What one SMTP attempt came to: accepted, or the server's code and reply."""

    accepted: bool
    code: int | None = None  # SMTP reply code; None for a connection or protocol error
    reply: str = ""
    # The connection broke after the server had the whole message: it may have delivered it.
    outcome_unknown: bool = False


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    delay_seconds: float = 0.0
    reason: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float = 2.0

    def decide(self, result: SendResult, attempts_made: int) -> Decision:
        """`attempts_made` counts the attempt that produced `result`."""
        if result.accepted:
            return Decision(Verdict.SENT)
        reason = _describe(result)
        if result.outcome_unknown:
            # Sending again could deliver it twice; at most once wins.
            return Decision(Verdict.FAIL, reason=f"{reason}; not sent again, since the "
                                                 "server may have delivered it")
        if is_permanent(result) or attempts_made >= self.max_attempts:
            return Decision(Verdict.FAIL, reason=reason)
        return Decision(Verdict.RETRY, self.backoff(attempts_made), reason)

    def backoff(self, attempts_made: int) -> float:
        """2 s after the first failure, 4 s after the second, ..."""
        return self.base_seconds * 2 ** (attempts_made - 1)


def is_permanent(result: SendResult) -> bool:
    return result.code is not None and 500 <= result.code < 600


def _describe(result: SendResult) -> str:
    if result.code is None:
        return result.reply or "connection failed"
    return f"{result.code} {result.reply}".strip()

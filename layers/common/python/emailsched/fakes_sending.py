"""In-memory fakes of the sender's other ports (emailsched.fakes has the ledger, limiter,
clock and mailer): a pool of one mailer, metrics that record, a sender's deferrals, the
bounce recorder and a sender's account health, and the unit tests' unsubscribe key."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from emailsched.domain.bounces import BounceClass
from emailsched.domain.compose import ComposeRules
from emailsched.domain.model import EmailStatus
from emailsched.domain.senders import SenderKind
from emailsched.fakes import InMemoryLedger
from emailsched.ports import Mailer

UNIT_TEST_UNSUBSCRIBE_KEY = b"unsubscribe-key-of-unit-tests!"


def unit_test_compose_rules(message_id_domain: str | None = "test") -> ComposeRules:
    return ComposeRules("http://127.0.0.1:8000", UNIT_TEST_UNSUBSCRIBE_KEY, message_id_domain)


class OneMailerPool:
    """A MailerPool of one mailer for every sender, whatever its kind."""

    def __init__(self, mailer: Mailer):
        self.mailer = mailer
        self.asked: list[tuple[uuid.UUID | None, SenderKind]] = []

    def mailer_for(self, sender_id: uuid.UUID | None, kind: SenderKind) -> Mailer:
        self.asked.append((sender_id, kind))
        return self.mailer

    def close(self) -> None:
        self.mailer.close()


@dataclass
class RecordingMetrics:
    """Counts by name (dimensions folded in as `name{key=value}`), observations and gauges
    as lists, for tests that assert what was measured."""

    counts: Counter[str] = field(default_factory=Counter)
    observed: dict[str, list[float]] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)

    def count(self, name: str, value: int = 1, **dims: str) -> None:
        labels = ",".join(f"{key}={dims[key]}" for key in sorted(dims))
        self.counts[f"{name}{{{labels}}}" if labels else name] += value

    def observe(self, name: str, value_ms: float) -> None:
        self.observed.setdefault(name, []).append(value_ms)

    def gauge(self, name: str, value: float) -> None:
        self.gauges[name] = value


@dataclass
class InMemoryDeferrals:
    """A sender held back until a time (epoch ms), as adapters/redis_deferrals.py keeps it."""

    until_ms: dict[str, int] = field(default_factory=dict)

    def defer(self, sender_id: str, until_ms: int, now_ms: int) -> None:
        self.until_ms[sender_id] = max(until_ms, self.until_ms.get(sender_id, 0))

    def deferred_until_ms(self, sender_id: str, now_ms: int) -> int | None:
        until = self.until_ms.get(sender_id)
        return until if until is not None and until > now_ms else None


@dataclass
class RecordingBounces:
    """Records each hard bounce or policy block; `pause_after` of them pause the batch."""

    recorded: list[tuple[uuid.UUID, BounceClass]] = field(default_factory=list)
    pause_after: int | None = None

    def record(self, email_id: uuid.UUID, bounce: BounceClass) -> bool:
        self.recorded.append((email_id, bounce))
        return self.pause_after is not None and len(self.recorded) == self.pause_after


class InMemorySenderHealth:
    """A sender's run of account failures, and its hold, on an InMemoryLedger's emails."""

    def __init__(self, ledger: InMemoryLedger):
        self._ledger = ledger
        self.failures: Counter[uuid.UUID] = Counter()
        self.failing: set[uuid.UUID] = set()

    def account_failed(self, sender_id: uuid.UUID, error: str,
                       failures_before_hold: int) -> bool:
        self.failures[sender_id] += 1
        if sender_id in self.failing or self.failures[sender_id] < failures_before_hold:
            return False
        self.failing.add(sender_id)
        return True

    def account_worked(self, sender_id: uuid.UUID) -> None:
        self.failures.pop(sender_id, None)
        self.failing.discard(sender_id)

    def hold_sender(self, sender_id: uuid.UUID, claimed: Sequence[uuid.UUID],
                    token: uuid.UUID) -> int:
        held = 0
        for email in self._ledger.emails.values():
            mine = (email.status == EmailStatus.SENDING and email.token == token
                    and email.state.id in claimed)
            if email.state.sender_id == sender_id and (
                    mine or email.status in (EmailStatus.SCHEDULED, EmailStatus.QUEUED)):
                email.state = replace(email.state, status=EmailStatus.HELD)
                email.token = None
                held += 1
        return held

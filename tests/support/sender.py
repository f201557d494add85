"""The sender service on in-memory fakes, wired as bootstrap wires the real one: for the
sender's unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from emailsched.domain.retry import RetryPolicy
from emailsched.fakes import FakeLimiter, InMemoryLedger, RecordingMailer
from emailsched.fakes_sending import (
    InMemoryDeferrals,
    InMemorySenderHealth,
    OneMailerPool,
    RecordingBounces,
    RecordingMetrics,
    unit_test_compose_rules,
)
from emailsched.ports import Clock
from emailsched.services.deliverability import Deliverability
from emailsched.services.sender import SenderConfig, SenderService


def sender_config() -> SenderConfig:
    return SenderConfig(lease=timedelta(seconds=60), early_hold=timedelta(seconds=2),
                        horizon=timedelta(seconds=900), receives_before_release=5,
                        failures_before_hold=3)


@dataclass
class SenderFakes:
    """The fakes behind a sender service, for the assertions of a test."""

    metrics: RecordingMetrics = field(default_factory=RecordingMetrics)
    deferrals: InMemoryDeferrals = field(default_factory=InMemoryDeferrals)
    bounces: RecordingBounces = field(default_factory=RecordingBounces)


def sender_service(ledger: InMemoryLedger, limiter: FakeLimiter, mailer: RecordingMailer,
                   clock: Clock, policy: RetryPolicy, config: SenderConfig | None = None,
                   fakes: SenderFakes | None = None) -> SenderService:
    fakes = fakes or SenderFakes()
    deliverability = Deliverability(unit_test_compose_rules(), fakes.bounces, fakes.deferrals)
    return SenderService(ledger, limiter, OneMailerPool(mailer), clock, policy,
                         config or sender_config(), fakes.metrics, InMemorySenderHealth(ledger),
                         deliverability)

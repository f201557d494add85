"""Scenario 1: a worker is SIGKILLed five times during a 1,000-email run, and a fresh one
started each time. Every email must reach the sink exactly once, and none fail. On moto and
on LocalStack: the killed workers' messages come back through each one's visibility timeout."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.reliability.stack import batch, on_both_emulators, schedule

pytestmark = pytest.mark.reliability

EMAILS = 1000
DELAY_MS = 20  # 1,000 emails over 20 s
KILL_AT_SECONDS = (2.0, 5.5, 9.0, 12.5, 16.0)  # after the first email is due


@pytest.mark.scenario("1. worker SIGKILLed x5")
@on_both_emulators
def test_every_email_arrives_exactly_once_while_workers_are_killed(figures, launch):
    scenario = launch("worker-kills", workers=2, concurrency=2)
    start = datetime.now(UTC) + timedelta(seconds=2)
    recipients = [f"person{i:04d}@example.com" for i in range(EMAILS)]
    schedule(scenario.api(), batch(recipients, start, delay_ms=DELAY_MS))

    in_flight_at_kills = []
    for at in KILL_AT_SECONDS:
        time.sleep(max(0.0, start.timestamp() + at - time.time()))
        victim = scenario.cluster.workers()[0]
        scenario.cluster.kill(victim, signal.SIGKILL)
        in_flight_at_kills.append(sum(1 for e in scenario.ledger()
                                      if e.status in ("queued", "sending")))
        scenario.cluster.start_worker(2)
    outcome = scenario.settle(EMAILS, timeout=90)

    figures.outcome(outcome, kills=len(in_flight_at_kills),
                    queued_or_sending_at_each_kill=in_flight_at_kills,
                    arrived=len(scenario.sink.messages))
    assert len(in_flight_at_kills) == 5
    assert outcome.is_clean(), outcome.explain()
    assert outcome.sent == EMAILS and outcome.failed == 0, outcome.explain()

"""Scenario 2: everything is SIGKILLed (API, pump, workers, and the embedded Postgres, Redis
and moto under them) while 200 emails are due over the next minute, and all of it is
started again 10 s later, as `emailsched dev` would be. Every email arrives once; those
due during the outage go out as soon as the stack is back, the rest on time.

The outage lasts from the kill until the restarted stack polls again: 10 s plus however
long the restart takes. Emails due right after it queue behind the outage's backlog, so
"on time" is measured from their due time or the moment that backlog was cleared.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.reliability.outcomes import arrival_times
from tests.reliability.stack import batch, schedule

pytestmark = pytest.mark.reliability

EMAILS = 200
DELAY_MS = 300  # 200 emails over a minute
KILL_AFTER_SECONDS = 15.0  # after the first is due
OUTAGE_SECONDS = 10.0
ON_TIME_SECONDS = 3.0  # most an email due while the stack runs may be late
CATCH_UP_SECONDS = 15.0  # by when, after the stack is back, the outage's emails are out
EARLY_TOLERANCE = 0.05  # clock reading granularity between the worker and the sink


@pytest.mark.scenario("2. everything SIGKILLed, restarted 10 s later")
def test_a_killed_and_restarted_stack_sends_every_email_once_and_catches_up(figures, launch):
    scenario = launch("full-restart", own_services=True, own_moto=True,
                      env={"PUMP_HORIZON_SECONDS": "20"})
    start = datetime.now(UTC) + timedelta(seconds=2)
    recipients = [f"person{i:03d}@example.com" for i in range(EMAILS)]
    schedule(scenario.api(), batch(recipients, start, delay_ms=DELAY_MS))

    time.sleep(max(0.0, start.timestamp() + KILL_AFTER_SECONDS - time.time()))
    killed_at = time.time()
    scenario.cluster.kill_children()
    assert scenario.own is not None
    scenario.own.kill()
    time.sleep(max(0.0, killed_at + OUTAGE_SECONDS - time.time()))
    restarted_at = time.time()
    scenario.own.start()
    scenario.cluster.prepare()
    scenario.start_components(workers=2, concurrency=2, pump_interval=0.5)
    back_at = time.time()
    outcome = scenario.settle(EMAILS, timeout=start.timestamp() + 90 - time.time())

    ledger = {email.id: email for email in scenario.ledger()}
    arrived = arrival_times(scenario.sink.messages)
    due = {i: ledger[i].due_at for i in arrived}
    before = [i for i in arrived if due[i] < killed_at - 1]  # the kill may catch the last
    during = [i for i in arrived if killed_at - 1 <= due[i] <= back_at]
    rest = [i for i in arrived if due[i] > back_at]
    cleared = max((arrived[i] for i in during), default=back_at)
    late = [arrived[i] - due[i] for i in before] + [arrived[i] - max(due[i], cleared)
                                                    for i in rest]
    figures.outcome(outcome, outage_s=round(back_at - killed_at, 1),
                    restart_took_s=round(back_at - restarted_at, 1),
                    due_during_outage=len(during),
                    catch_up_after_back_s=round(cleared - back_at, 1),
                    max_lateness_of_the_rest_s=round(max(late, default=0), 2))
    assert outcome.is_clean(), outcome.explain()
    assert outcome.sent == EMAILS, outcome.explain()
    assert min(arrived[i] - due[i] for i in arrived) >= -EARLY_TOLERANCE, "sent before due"
    assert during and cleared - back_at <= CATCH_UP_SECONDS
    assert rest and max(late) <= ON_TIME_SECONDS, sorted(late)[-5:]

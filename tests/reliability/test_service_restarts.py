"""Scenario 3: the services under a running stack fail one after another: every Postgres
connection is dropped, Postgres is restarted, Redis is restarted with its data, and Redis
comes back empty. No email is lost or sent twice, no sender's window goes over its limit,
and the workers recover by themselves.

Three senders' batches fill every window to the limit. The Postgres outage outlasts a
window, so when it ends each sender has a backlog and from then on every window is full:
the limiter, not the plan, keeps them at the limit. Redis loses its keys in the middle of
such a window, after its sends, so only a limiter that re-seeds the window from the ledger
keeps the rest of the window shut.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from tests.reliability.commit_cutter import CommitCutter
from tests.reliability.outcomes import arrival_times
from tests.reliability.stack import Scenario, batch, schedule

pytestmark = pytest.mark.reliability

WINDOW_SECONDS = 4
LIMIT = 8  # per sender per window
DELAY_MS = 500  # the plan fills every window exactly
SENDERS = ("alpha@example.com", "beta@example.com", "gamma@example.com")
EMAILS_PER_SENDER = 40  # five windows' worth each
# Seconds after the start (windows begin at 0, 4, 8, ...): the faults.
DROP_CONNECTIONS_AT = 2.0
RESTART_POSTGRES_AT = 4.5  # down until about 10.5: the window 4-8 is missed altogether
POSTGRES_DOWN_SECONDS = 5.0
RESTART_REDIS_AT = 13.5  # mid-window, its sends done
EMPTY_REDIS_AT = 17.5  # mid-window, its sends done


def drop_connections(scenario: Scenario) -> int:
    """pg_terminate_backend for every session of the stack's database but this one."""
    engine = sqlalchemy.create_engine(scenario.database_url)
    try:
        with engine.connect() as connection:
            return len(connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()").all())
    finally:
        engine.dispose()


def at(start: datetime, seconds: float) -> None:
    time.sleep(max(0.0, start.timestamp() + seconds - time.time()))


@pytest.mark.scenario("3. Postgres and Redis restarted mid-run")
def test_service_failures_lose_nothing_send_nothing_twice_and_keep_every_limit(figures, launch):
    scenario = launch("service-restarts", own_services=True,
                      env={"RATE_WINDOW_SECONDS": str(WINDOW_SECONDS)})
    assert scenario.own is not None
    workers = {w.pid for w in scenario.cluster.workers()}
    soon = time.time() + 2
    start = datetime.fromtimestamp(soon - soon % WINDOW_SECONDS + WINDOW_SECONDS, UTC)
    api = scenario.api()
    for sender in SENDERS:
        recipients = [f"{sender.split('@')[0]}{i:02d}@example.net"
                      for i in range(EMAILS_PER_SENDER)]
        schedule(api, batch(recipients, start, delay_ms=DELAY_MS, limit=LIMIT, sender=sender))

    at(start, DROP_CONNECTIONS_AT)
    dropped = drop_connections(scenario)
    at(start, RESTART_POSTGRES_AT)
    scenario.own.restart_postgres(down_seconds=POSTGRES_DOWN_SECONDS)
    at(start, RESTART_REDIS_AT)
    scenario.own.restart_redis(down_seconds=2, empty=False)
    at(start, EMPTY_REDIS_AT)
    scenario.own.restart_redis(down_seconds=1, empty=True)
    outcome = scenario.settle(len(SENDERS) * EMAILS_PER_SENDER, timeout=90)

    pushed = pushed_to_later_windows(scenario)
    figures.outcome(outcome, connections_dropped=dropped,
                    pushed_to_a_later_window=pushed,
                    faults="connections dropped; Postgres down 5 s; Redis down 2 s with its "
                           "data, then down 1 s and back empty")
    assert outcome.is_clean(), outcome.explain()
    assert outcome.sent == len(SENDERS) * EMAILS_PER_SENDER, outcome.explain()
    assert {w.pid for w in scenario.cluster.workers()} == workers, "a worker had to restart"
    assert pushed >= LIMIT * len(SENDERS), "the backlog never made the limiter work"


def pushed_to_later_windows(scenario: Scenario) -> int:
    """Emails that reached the sink in a later window than the one they were due in: the
    backlog the limiter had to hold back."""
    due = {e.id: e.due_at for e in scenario.ledger()}
    arrived = arrival_times(scenario.sink.messages)
    return sum(1 for i, when in arrived.items()
               if int(when // WINDOW_SECONDS) > int(due[i] // WINDOW_SECONDS))



@pytest.mark.scenario("3. a connection dropped just as a send commits")
def test_a_connection_dropped_just_as_a_send_commits_loses_no_email(figures, launch,
                                                                    shared_services):
    """The worker commits `sent` (the point of no return) and its connection drops before
    it hears back: the commit stands, and the email must still reach the server once."""
    cutter = CommitCutter(shared_services.admin_postgres_url).start()
    try:
        scenario = launch("commit-cut", route_database=lambda url: cutter.url(
            str(make_url(url).database)))
        cutter.arm()
        schedule(scenario.api(), batch([f"cut{i}@example.com" for i in range(5)],
                                       datetime.now(UTC), delay_ms=200))
        outcome = scenario.settle(5, timeout=25)  # a lease (10 s) and then some
    finally:
        cutter.stop()
    figures.outcome(outcome, connections_cut_at_commit=cutter.cuts)
    assert cutter.cuts == 1
    assert outcome.is_clean(), outcome.explain()
    assert outcome.sent == 5

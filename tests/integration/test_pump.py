"""The pump on the real ledger: its claim is committed before any message leaves, and a
failed send hands the emails back."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy

from emailsched.domain.messages import parse_message
from emailsched.ports import OutgoingMessage
from emailsched.services.pump import PumpConfig, PumpService
from tests.support.ledger import schedule_due_now
from tests.support.stack import Services

pytestmark = pytest.mark.integration


class WatchingQueue:
    """Records, at the moment each message is sent, the status another connection sees."""

    def __init__(self, database_url: str, fail: bool = False):
        self.engine = sqlalchemy.create_engine(database_url)
        self.fail = fail
        self.seen: list[str] = []

    def send(self, messages: list[OutgoingMessage]) -> None:
        ids = [str(i) for m in messages for i in parse_message(m.body)]
        with self.engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text(
                "SELECT status FROM emails WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids})
            self.seen += [row[0] for row in rows]
        if self.fail:
            raise ConnectionError("queue unreachable")


def statuses(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT status, count(*) FROM emails GROUP BY 1")
        found = {status: int(n) for status, n in rows}
    engine.dispose()
    return found


class DrainingQueue(WatchingQueue):
    """Workers that finish each message at once: its emails read `sent` right after."""

    def __init__(self, database_url: str):
        super().__init__(database_url)
        self.sizes: list[int] = []

    def send(self, messages: list[OutgoingMessage]) -> None:
        ids = [str(i) for m in messages for i in parse_message(m.body)]
        self.sizes.append(len(ids))
        with self.engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                "UPDATE emails SET status = 'sent' WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": ids})


def pump_with(container: Any, queue: Any, max_in_flight: int = 1000) -> PumpService:
    return PumpService(container.ledger, queue, container.clock, PumpConfig(
        horizon=timedelta(seconds=60), max_in_flight=max_in_flight,
        lost_after=timedelta(seconds=60)), container.metrics)


def test_every_message_leaves_after_its_emails_read_queued_to_everyone(services: Services):
    container = schedule_due_now(services, 30)
    queue = WatchingQueue(services.database_url)
    report = pump_with(container, queue).run()
    assert report.enqueued == 30
    assert queue.seen == ["queued"] * 30


def test_a_failed_send_hands_the_emails_back_to_be_enqueued_again(services: Services):
    container = schedule_due_now(services, 5)
    with pytest.raises(ConnectionError):
        pump_with(container, WatchingQueue(services.database_url, fail=True)).run()
    assert statuses(services.database_url) == {"scheduled": 5}
    assert pump_with(container, WatchingQueue(services.database_url)).run().enqueued == 5


def test_without_a_time_budget_a_run_tops_up_once_to_the_cap(services: Services):
    container = schedule_due_now(services, 100)
    queue = DrainingQueue(services.database_url)
    assert pump_with(container, queue, max_in_flight=20).run().enqueued == 20
    assert statuses(services.database_url) == {"sent": 20, "scheduled": 80}


def test_a_budgeted_run_keeps_topping_up_while_workers_free_room(services: Services):
    container = schedule_due_now(services, 100)
    queue = DrainingQueue(services.database_url)
    report = pump_with(container, queue, max_in_flight=20).run(time_budget_seconds=30)
    assert report.enqueued == 100
    assert max(queue.sizes) == 20  # never more than the cap in flight
    assert statuses(services.database_url) == {"sent": 100}


def test_a_budgeted_run_held_at_the_cap_gives_up_soon_not_at_the_end_of_its_budget(
        services: Services):
    container = schedule_due_now(services, 100)
    queue = WatchingQueue(services.database_url)  # nothing is ever finished
    started = time.monotonic()
    report = pump_with(container, queue, max_in_flight=20).run(time_budget_seconds=30)
    assert report.enqueued == 20
    assert time.monotonic() - started < 5

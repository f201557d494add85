"""Ledgers filled for a test: emails due now, scheduled through the real service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from emailsched.adapters.db.accounts import upsert_user_by_email
from emailsched.services.scheduling import ScheduleRequest
from tests.support.stack import Services, prepare


def schedule_due_now(services: Services, count: int) -> Any:
    """A fresh container (installed as the process's own) whose ledger holds `count`
    emails of one batch, all due now; returns the container."""
    container = prepare(services.settings())
    with container.engine.begin() as connection:
        owner = upsert_user_by_email(connection, "pump@example.com", "Pump")
    container.scheduling.schedule(owner.id, ScheduleRequest(
        subject="s", body="b", recipients=[f"p{i}@x.com" for i in range(count)],
        start_time=datetime.now(UTC), delay_ms=0, hourly_limit=10_000,
        sender_email="me@x.com", sender_name="Me"))
    return container

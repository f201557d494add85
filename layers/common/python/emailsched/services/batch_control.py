"""Pause, resume and cancel a batch.

Resume re-plans what is left: each paused email keeps its planned time if that is still
ahead, and otherwise follows the one before it with the batch's delay, under the sender's
limits as they stand now (other batches may have used the windows meanwhile).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from emailsched.adapters.db import batches, control
from emailsched.domain.model import (
    HOLDABLE_EMAIL_STATUSES,
    BatchAction,
    BatchStatus,
    EmailStatus,
    derived_batch_status,
    next_batch_status,
)
from emailsched.domain.plan import PlanRules, plan_due_times
from emailsched.domain.windows import window_start_ms
from emailsched.errors import NotFound
from emailsched.ports import Clock
from emailsched.services.scheduling import SchedulingRules

_HOLDABLE = [s.value for s in HOLDABLE_EMAIL_STATUSES]


class BatchControlService:
    def __init__(self, engine: Engine, clock: Clock, rules: SchedulingRules):
        self._engine, self._clock, self._rules = engine, clock, rules

    def apply(self, user_id: uuid.UUID, batch_id: uuid.UUID, action: BatchAction) -> None:
        with self._engine.begin() as connection:
            locked = control.lock_batch(connection, user_id, batch_id)
            if locked is None:
                raise NotFound("no such batch")
            stored, sender_id, delay_ms, hourly_limit = locked
            current = derived_batch_status(BatchStatus(stored),
                                           control.pending_count(connection, batch_id))
            new_status = next_batch_status(current, action)
            control.set_status(connection, batch_id, new_status.value)
            if action == BatchAction.RESUME:
                rules = PlanRules(hourly_limit, self._rules.window_ms, delay_ms,
                                  self._rules.min_gap_ms)
                self._resume(connection, batch_id, sender_id, rules)
            elif action == BatchAction.PAUSE:
                control.hold_emails(connection, batch_id, _HOLDABLE, EmailStatus.PAUSED.value)
            else:
                control.hold_emails(connection, batch_id, [*_HOLDABLE, EmailStatus.PAUSED.value],
                                    EmailStatus.CANCELLED.value)

    def _resume(self, connection: Connection, batch_id: uuid.UUID, sender_id: uuid.UUID,
                rules: PlanRules) -> None:
        control.lock_sender(connection, sender_id)
        paused = control.paused_emails(connection, batch_id)
        if not paused:
            return
        now_ms = int(self._clock.now().timestamp() * 1000)
        earliest = [max(now_ms, int(due.timestamp() * 1000)) for _, due in paused]
        since = datetime.fromtimestamp(window_start_ms(min(earliest), rules.window_ms) / 1000,
                                       UTC)
        used = batches.sender_usage(connection, sender_id, since, rules.window_ms)
        due_ms = plan_due_times(earliest, len(paused), rules, used)
        control.resume_emails(connection, [email_id for email_id, _ in paused], due_ms)
        control.set_end(connection, batch_id, datetime.fromtimestamp(due_ms[-1] / 1000, UTC))

"""Pause, resume and cancel a batch.

Resume re-plans what is left: each paused email keeps its planned time if that is still
ahead, and otherwise follows the one before it with the batch's delay, under the sender's
limits as they stand now (other batches may have used the windows meanwhile).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from emailsched.domain.model import (
    EMAIL_TRANSITIONS,
    BatchAction,
    BatchStatus,
    EmailTransition,
    derived_batch_status,
    next_batch_status,
)
from emailsched.domain.plan import PlanRules, plan_due_times
from emailsched.domain.windows import window_start_ms
from emailsched.errors import NotFound
from emailsched.ports import BatchControlSession, BatchControlStore, Clock
from emailsched.services.scheduling import SchedulingRules

# What pausing and cancelling a batch do to its emails.
_HOLDS = {BatchAction.PAUSE: EmailTransition.PAUSE, BatchAction.CANCEL: EmailTransition.CANCEL}


class BatchControlService:
    def __init__(self, store: BatchControlStore, clock: Clock, rules: SchedulingRules):
        self._store, self._clock, self._rules = store, clock, rules

    def apply(self, user_id: uuid.UUID, batch_id: uuid.UUID, action: BatchAction) -> None:
        with self._store.transaction() as store:
            locked = store.lock_batch(user_id, batch_id)
            if locked is None:
                raise NotFound("no such batch")
            current = derived_batch_status(BatchStatus(locked.status),
                                           store.pending_count(batch_id))
            new_status = next_batch_status(current, action)
            store.set_status(batch_id, new_status.value)
            if action == BatchAction.RESUME:
                rules = PlanRules(locked.hourly_limit, self._rules.window_ms, locked.delay_ms,
                                  self._rules.min_gap_ms)
                self._resume(store, batch_id, locked.sender_id, rules)
            else:
                from_statuses, to_status = EMAIL_TRANSITIONS[_HOLDS[action]]
                store.hold_emails(batch_id, [s.value for s in from_statuses], to_status.value)

    def _resume(self, store: BatchControlSession, batch_id: uuid.UUID, sender_id: uuid.UUID,
                rules: PlanRules) -> None:
        store.lock_sender(sender_id)
        paused = store.paused_emails(batch_id)
        if not paused:
            return
        now_ms = int(self._clock.now().timestamp() * 1000)
        earliest = [max(now_ms, int(due.timestamp() * 1000)) for _, due in paused]
        since = datetime.fromtimestamp(window_start_ms(min(earliest), rules.window_ms) / 1000,
                                       UTC)
        used = store.sender_usage(sender_id, since, rules.window_ms)
        due_ms = plan_due_times(earliest, len(paused), rules, used)
        store.resume_emails([email_id for email_id, _ in paused], due_ms)
        store.set_end(batch_id, datetime.fromtimestamp(due_ms[-1] / 1000, UTC))

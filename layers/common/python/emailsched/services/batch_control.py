"""Pause, resume and cancel a batch.

Resume re-plans what is left: each paused email keeps its planned time if that is still
ahead, and otherwise follows the one before it with the batch's delay, under the sender's
limits as they stand now (other batches may have used the windows meanwhile); a rotated
batch re-plans each sender's share under that sender's limits. A batch with a sending
window is re-planned inside it from then on (each recipient in their own zone where they
have one), with its jitter drawn from the batch's seed (issue 15).
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
from emailsched.domain.recipient_zones import recipient_zone
from emailsched.errors import NotFound
from emailsched.ports import BatchControlSession, BatchControlStore, Clock, LockedBatch
from emailsched.services.scheduling import SchedulingRules
from emailsched.services.sender_plans import BatchShape, plan_share

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
                self._resume(store, batch_id, locked)
            else:
                from_statuses, to_status = EMAIL_TRANSITIONS[_HOLDS[action]]
                store.hold_emails(batch_id, [s.value for s in from_statuses], to_status.value)

    def _resume(self, store: BatchControlSession, batch_id: uuid.UUID,
                locked: LockedBatch) -> None:
        paused = store.paused_emails(batch_id)
        if not paused:
            return
        now_ms = int(self._clock.now().timestamp() * 1000)
        shape = BatchShape.stored(locked.sending_window, locked.random_delay_ms,
                                  locked.plan_seed)
        by_sender: dict[uuid.UUID, list[tuple[uuid.UUID, int, str | None]]] = {}
        for email_id, due, sender_id, zone in paused:
            by_sender.setdefault(sender_id, []).append(
                (email_id, max(now_ms, int(due.timestamp() * 1000)), recipient_zone(
                    {"timezone": zone} if zone else None)))
        ends = []
        for sender_id in sorted(by_sender):  # one lock order
            share = by_sender[sender_id]
            limits = store.sender_limits(sender_id)
            due_ms = plan_share(store, sender_id, limits, [at for _, at, _ in share],
                                len(share), locked.hourly_limit, locked.delay_ms,
                                self._rules.pacing, shape, [zone for _, _, zone in share])
            store.resume_emails([email_id for email_id, _, _ in share], due_ms)
            ends.append(max(due_ms))  # with recipient zones not the last
        store.set_end(batch_id, datetime.fromtimestamp(max(ends) / 1000, UTC))

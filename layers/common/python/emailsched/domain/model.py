"""Statuses of emails and batches, and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum

from emailsched.errors import Conflict


class EmailStatus(StrEnum):
    SCHEDULED = "scheduled"  # in the ledger, not yet on the queue
    QUEUED = "queued"  # a message that names it is on the queue
    SENDING = "sending"  # a worker holds it (with a lease)
    SENT = "sent"
    FAILED = "failed"
    PAUSED = "paused"
    CANCELLED = "cancelled"


PENDING_EMAIL_STATUSES = (
    EmailStatus.SCHEDULED,
    EmailStatus.QUEUED,
    EmailStatus.SENDING,
    EmailStatus.PAUSED,
)
FINAL_EMAIL_STATUSES = (EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.CANCELLED)
# Emails a pause holds and a cancel ends: everything not already in a worker's hands.
HOLDABLE_EMAIL_STATUSES = (EmailStatus.SCHEDULED, EmailStatus.QUEUED)


class BatchStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # derived: active with nothing left pending


class BatchAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


# For each action: the stored batch statuses it applies to, and the status it leaves.
_BATCH_TRANSITIONS: dict[BatchAction, tuple[frozenset[BatchStatus], BatchStatus]] = {
    BatchAction.PAUSE: (frozenset({BatchStatus.ACTIVE}), BatchStatus.PAUSED),
    BatchAction.RESUME: (frozenset({BatchStatus.PAUSED}), BatchStatus.ACTIVE),
    BatchAction.CANCEL: (
        frozenset({BatchStatus.ACTIVE, BatchStatus.PAUSED}),
        BatchStatus.CANCELLED,
    ),
}


def next_batch_status(current: BatchStatus, action: BatchAction) -> BatchStatus:
    """The batch status after `action`, or Conflict when it does not apply."""
    allowed_from, result = _BATCH_TRANSITIONS[action]
    if current not in allowed_from:
        raise Conflict(f"cannot {action.value} a batch that is {current.value}")
    return result


def derived_batch_status(stored: BatchStatus, pending: int) -> BatchStatus:
    """What the API shows: an active batch with nothing pending is completed."""
    if stored == BatchStatus.ACTIVE and pending == 0:
        return BatchStatus.COMPLETED
    return stored

"""Statuses of emails and batches, and the transitions allowed between them."""

from __future__ import annotations

from collections.abc import Iterable
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
    HELD = "held"  # its sender is failing: kept, no attempt used, re-planned when active
    SUPPRESSED = "suppressed"  # its recipient was suppressed after scheduling: not sent
    REPLIED = "replied"  # a later step whose recipient replied: their sequence ended


# The most emails one sender may send in an hour: a batch's or a sender's hourlyLimit. The
# API's schema states it (and so the OpenAPI document); nothing else restates it.
MAX_HOURLY_LIMIT = 100_000

PENDING_EMAIL_STATUSES = (
    EmailStatus.SCHEDULED,
    EmailStatus.QUEUED,
    EmailStatus.SENDING,
    EmailStatus.PAUSED,
    EmailStatus.HELD,
)
FINAL_EMAIL_STATUSES = (EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.CANCELLED,
                        EmailStatus.SUPPRESSED, EmailStatus.REPLIED)
# Emails whose sending ended, either way: the dashboard's "sent" tab and the stats.
OUTCOME_EMAIL_STATUSES = (EmailStatus.SENT, EmailStatus.FAILED)
# Emails that count in their sender's planned use of a window: every status but those
# that will not be sent as planned. Named, not negated, so a query reads the sender's index
# (sender_id, status, due_at) one status at a time.
PLAN_COUNTED_STATUSES = tuple(status for status in EmailStatus if status not in (
    EmailStatus.FAILED, EmailStatus.CANCELLED, EmailStatus.PAUSED, EmailStatus.HELD))
# Emails a pause holds and a cancel ends: everything not already in a worker's hands.
HOLDABLE_EMAIL_STATUSES = (EmailStatus.SCHEDULED, EmailStatus.QUEUED)


class EmailTransition(StrEnum):
    """Every move of an email between statuses, each named for what it does."""

    ENQUEUE = "enqueue"  # the pump put a message for it on the queue
    CLAIM = "claim"  # a worker holds it, under a lease and a limiter slot
    RETURN_TO_QUEUE = "return_to_queue"  # a worker gives it back unsent, its message kept
    RETURN_TO_PUMP = "return_to_pump"  # its message is dropped; the pump enqueues it afresh
    RECOVER_EXPIRED_LEASE = "recover_expired_lease"  # its worker died or stalled
    RECOVER_LOST_MESSAGE = "recover_lost_message"  # its message never arrived
    MARK_SENT = "mark_sent"  # the point of no return
    RETRY = "retry"  # an attempt failed; another comes after the backoff
    FAIL = "fail"  # the last attempt failed, or the server refused for good
    PAUSE = "pause"
    CANCEL = "cancel"
    RESUME = "resume"
    HOLD_FOR_SENDER = "hold_for_sender"  # its sender turned failing
    RELEASE_HELD = "release_held"  # its sender is active again: re-planned from now
    SUPPRESS = "suppress"  # at send time its recipient is on the suppression list
    # Sequences: the recipient replied, or bounced hard / unsubscribed, so their later steps
    # end. From `sending` too: that fences the worker like a lost lease (its point of no
    # return requires `sending` under its token), so a follow-up claimed just before the
    # reply arrived is not sent.
    STOP_REPLIED = "stop_replied"
    STOP_SUPPRESSED = "stop_suppressed"
    BOUNCE = "bounce"  # a delivery report says a sent email bounced hard


# For each transition: the statuses it applies to, and the status it leaves.
EMAIL_TRANSITIONS: dict[EmailTransition, tuple[tuple[EmailStatus, ...], EmailStatus]] = {
    EmailTransition.ENQUEUE: ((EmailStatus.SCHEDULED,), EmailStatus.QUEUED),
    EmailTransition.CLAIM: ((EmailStatus.QUEUED,), EmailStatus.SENDING),
    EmailTransition.RETURN_TO_QUEUE: ((EmailStatus.SENDING,), EmailStatus.QUEUED),
    EmailTransition.RETURN_TO_PUMP: ((EmailStatus.QUEUED,), EmailStatus.SCHEDULED),
    EmailTransition.RECOVER_EXPIRED_LEASE: ((EmailStatus.SENDING,), EmailStatus.SCHEDULED),
    EmailTransition.RECOVER_LOST_MESSAGE: ((EmailStatus.QUEUED,), EmailStatus.SCHEDULED),
    EmailTransition.MARK_SENT: ((EmailStatus.SENDING,), EmailStatus.SENT),
    EmailTransition.RETRY: ((EmailStatus.SENDING, EmailStatus.SENT), EmailStatus.QUEUED),
    EmailTransition.FAIL: ((EmailStatus.SENDING, EmailStatus.SENT), EmailStatus.FAILED),
    EmailTransition.PAUSE: (HOLDABLE_EMAIL_STATUSES, EmailStatus.PAUSED),
    EmailTransition.CANCEL: ((*HOLDABLE_EMAIL_STATUSES, EmailStatus.PAUSED, EmailStatus.HELD),
                             EmailStatus.CANCELLED),
    EmailTransition.RESUME: ((EmailStatus.PAUSED,), EmailStatus.SCHEDULED),
    EmailTransition.HOLD_FOR_SENDER: ((*HOLDABLE_EMAIL_STATUSES, EmailStatus.SENDING),
                                      EmailStatus.HELD),
    EmailTransition.RELEASE_HELD: ((EmailStatus.HELD,), EmailStatus.SCHEDULED),
    EmailTransition.SUPPRESS: ((EmailStatus.QUEUED,), EmailStatus.SUPPRESSED),
    EmailTransition.STOP_REPLIED: ((*PENDING_EMAIL_STATUSES,), EmailStatus.REPLIED),
    EmailTransition.STOP_SUPPRESSED: ((*PENDING_EMAIL_STATUSES,), EmailStatus.SUPPRESSED),
    EmailTransition.BOUNCE: ((EmailStatus.SENT,), EmailStatus.FAILED),
}


def sql_list(statuses: Iterable[EmailStatus]) -> str:
    """Statuses as the inside of an SQL `IN (...)`: the SQL is built from the enum."""
    return ", ".join(f"'{status.value}'" for status in statuses)


class BatchStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # derived: active with nothing left pending


class BatchAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    HOLD_FOR_SENDER = "hold_for_sender"  # its sender turned failing
    RELEASE_HELD = "release_held"  # its sender is active again: re-planned from now
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

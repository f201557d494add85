"""What happened to an email, oldest first (SPEC.md, "Every email of a batch").

Two sources make one timeline. The ledger stores a row for each event the email row does
not hold itself (migration 0012's trigger writes them with the change they report); the
machinery of sending is derived from the row: `scheduled` at its creation, `sent` at its
send time, and a `queued` or `sending` email shows that status since its last change.
`timeline` merges the two so that each event appears once, at its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    DEFERRED = "deferred"
    FAILED = "failed"
    HELD = "held"
    RELEASED = "released"
    PAUSED = "paused"
    RESUMED = "resumed"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"
    REPLIED = "replied"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"
    REPLY_RECEIVED = "reply_received"
    # The inbox (issue 26): a lead's status changed, detail {from, to}; on the lead's
    # latest email. Webhooks deliver it as `lead.status_changed`.
    LEAD_STATUS_CHANGED = "lead_status_changed"


class Actor(StrEnum):
    """Who made a change: SPEC's `by`."""

    API = "api"
    USER = "user"
    PUMP = "pump"
    WORKER = "worker"
    POLLER = "poller"


@dataclass(frozen=True)
class EmailEvent:
    type: EventType
    at: datetime
    by: Actor
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class EmailFacts:
    """What the email row itself says about its history."""

    status: str
    step: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


# Statuses whose latest entry the row tells by its updated_at, and who puts an email there.
_DERIVED_CURRENT = {"queued": (EventType.QUEUED, Actor.PUMP),
                    "sending": (EventType.SENDING, Actor.WORKER)}


def timeline(facts: EmailFacts, stored: list[EmailEvent]) -> list[EmailEvent]:
    """The stored events and the derived ones, oldest first; ties keep the derived
    `scheduled` first and the stored order (the ledger's insertion order) after it."""
    planner = Actor.API if facts.step == 1 else Actor.PUMP
    derived = [EmailEvent(EventType.SCHEDULED, facts.created_at, planner)]
    if facts.sent_at is not None:
        derived.append(EmailEvent(EventType.SENT, facts.sent_at, Actor.WORKER))
    current = _DERIVED_CURRENT.get(facts.status)
    if current is not None:
        derived.append(EmailEvent(current[0], facts.updated_at, current[1]))
    merged = [(event.at, 0, index, event) for index, event in enumerate(derived[:1])]
    merged += [(event.at, 1, index, event) for index, event in enumerate(stored)]
    merged += [(event.at, 2, index, event) for index, event in enumerate(derived[1:])]
    return [event for *_, event in sorted(merged, key=lambda item: item[:3])]

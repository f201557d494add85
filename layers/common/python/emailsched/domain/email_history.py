"""An email as GET /emails and GET /emails/{id} show it: any status, with its lead's
status and, for one email, its events (SPEC.md, "Every email of a batch")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from emailsched.domain.events import EmailEvent, EmailFacts
from emailsched.domain.model import EmailStatus

# Why a recipient's sequence ended (sequence_stops.reason) as the lead's status, for a lead
# with no inbox thread; a lead whose sequence goes on is `new`.
LEAD_STATUS_OF_STOP = {"replied": "replied", "unsubscribed": "unsubscribed",
                       "hard_bounce": "bounced"}


@dataclass(frozen=True)
class EmailFilter:
    batch_id: uuid.UUID | None = None
    statuses: tuple[EmailStatus, ...] = ()
    recipient: str | None = None


@dataclass(frozen=True)
class EmailRecord:
    id: uuid.UUID
    batch_id: uuid.UUID
    recipient_email: str
    subject: str
    status: str
    step: int
    due_at: datetime
    sender_name: str
    sender_email: str
    attempts: int
    failure_reason: str | None
    sent_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime
    stop_reason: str | None = None
    events: list[EmailEvent] = field(default_factory=list)
    thread_status: str | None = None  # the inbox's lead status, where the lead has a thread

    @property
    def lead_status(self) -> str:
        """The inbox's status of the lead; before any message of theirs was kept, what
        their sequence's stop says."""
        if self.thread_status is not None:
            return self.thread_status
        return LEAD_STATUS_OF_STOP.get(self.stop_reason or "", "new")

    @property
    def facts(self) -> EmailFacts:
        return EmailFacts(self.status, self.step, self.created_at, self.updated_at,
                          self.sent_at)

"""An email as GET /emails and GET /emails/{id} show it: any status, with its lead's
status and, for one email, its events (SPEC.md, "Every email of a batch")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from emailsched.domain.events import EmailEvent, EmailFacts
from emailsched.domain.model import EmailStatus

# Why a recipient's sequence ended (sequence_stops.reason) as the lead's status; a lead
# whose sequence goes on is `new` (the inbox adds the statuses a person sets).
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

    @property
    def lead_status(self) -> str:
        return LEAD_STATUS_OF_STOP.get(self.stop_reason or "", "new")

    @property
    def facts(self) -> EmailFacts:
        return EmailFacts(self.status, self.step, self.created_at, self.updated_at,
                          self.sent_at)

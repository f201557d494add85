"""Rows the read side and auth hand to the API: plain values, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    name: str
    avatar: str | None


@dataclass(frozen=True)
class EmailRow:
    id: uuid.UUID
    batch_id: uuid.UUID
    recipient_email: str
    subject: str
    due_at: datetime
    status: str
    sender_name: str
    sender_email: str
    attempts: int
    failure_reason: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class BatchRow:
    id: uuid.UUID
    subject: str
    sender_email: str
    sender_name: str
    start_time: datetime
    delay_ms: int
    hourly_limit: int
    status: str
    email_count: int
    duplicates_removed: int
    estimated_end_time: datetime
    created_at: datetime
    sender_id: uuid.UUID

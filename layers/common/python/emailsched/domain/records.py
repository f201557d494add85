"""Rows the read side and auth hand to the API: plain values, no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    name: str
    avatar: str | None
    postal_address: str | None = None  # for the unsubscribe footer (CAN-SPAM)


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
    step: int = 1  # 1 for the first email, k for follow-up k (Sequences)


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
    # Issue 15: SendingWindow.to_api() of the batch's window (None: any time), jitter.
    sending_window: Mapping[str, Any] | None = None
    random_delay_ms: int = 0
    # Issue 14: recipients dropped as suppressed when scheduled; why it paused itself.
    suppressed_removed: int = 0
    paused_reason: str | None = None
    # Issue 30: every sender a rotated batch goes through, [{name, email}] in rotation order
    # (None: the batch has one sender, `sender_email`).
    rotation: Sequence[Mapping[str, str]] | None = None


@dataclass(frozen=True)
class Suppression:
    email: str  # lower case
    reason: str  # "unsubscribed" | "hard_bounce" | "complaint" | "manual"
    created_at: datetime

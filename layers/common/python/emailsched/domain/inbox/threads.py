"""Threads and their messages as the inbox shows them (SPEC.md, "Inbox"): one thread per
lead (a recipient of a batch), our emails and theirs in one conversation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emailsched.domain.inbox.leads import LeadStatus

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw|fwd?|wg)\s*(?:\[\d+\])?\s*:\s*)+",
                           re.IGNORECASE)


@dataclass(frozen=True)
class InboxFilter:
    lead_status: LeadStatus | None = None
    sender_id: uuid.UUID | None = None
    batch_id: uuid.UUID | None = None
    unread: bool | None = None
    q: str | None = None


@dataclass(frozen=True)
class Thread:
    id: uuid.UUID
    batch_id: uuid.UUID
    recipient_email: str
    sender_id: uuid.UUID
    subject: str
    last_message_at: datetime | None
    snippet: str
    unread: bool
    lead_status: str
    message_count: int


@dataclass(frozen=True)
class ThreadMessage:
    id: uuid.UUID
    direction: str  # "out" (ours) or "in" (theirs)
    kind: str  # domain/inbox/verdict.MessageKind
    from_address: str
    to_address: str
    subject: str
    text: str
    html: str | None
    message_id: str | None
    at: datetime
    status: str | None = None  # ours: the email's status
    attachments: list[dict[str, Any]] = field(default_factory=list)


def reply_subject(subject: str) -> str:
    """`Re: <subject>` once, whatever prefixes the answered message had."""
    return "Re: " + (_REPLY_PREFIX.sub("", subject).strip() or subject.strip())

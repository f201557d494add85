"""Queue messages: what the pump puts on SQS and the sender reads back.

A message only wakes the sender; the ledger says what to do. Emails of one sender that fall
due within the same second share a message (up to 50), which cuts queue traffic fiftyfold
when a batch has no delay, while a message never holds emails more than a second apart.
Each message costs a receive and a delete whatever it carries: at 10 emails a message,
pollers spent 42 % of their time waiting on moto's receive (benchmarks).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from math import floor

from emailsched.errors import PoisonMessage

MAX_EMAILS_PER_MESSAGE = 50
MAX_DELAY_SECONDS = 900
MESSAGE_VERSION = 1


@dataclass(frozen=True)
class DueRef:
    email_id: uuid.UUID
    sender_id: uuid.UUID
    wake_at: datetime
    seq: int


@dataclass(frozen=True)
class WakeMessage:
    email_ids: tuple[uuid.UUID, ...]
    delay_seconds: int

    def body(self) -> str:
        return json.dumps({"v": MESSAGE_VERSION, "emails": [str(i) for i in self.email_ids]})


def group_into_messages(due: Iterable[DueRef], now: datetime) -> list[WakeMessage]:
    """One message per sender per second of delay, at most MAX_EMAILS_PER_MESSAGE emails
    each, in due order."""
    groups: dict[tuple[uuid.UUID, int], list[DueRef]] = {}
    for ref in sorted(due, key=lambda r: (r.wake_at, r.seq)):
        groups.setdefault((ref.sender_id, delay_seconds(ref.wake_at, now)), []).append(ref)
    messages = []
    for (_, delay), refs in groups.items():
        for start in range(0, len(refs), MAX_EMAILS_PER_MESSAGE):
            chunk = refs[start:start + MAX_EMAILS_PER_MESSAGE]
            messages.append(WakeMessage(tuple(r.email_id for r in chunk), delay))
    return messages


def delay_seconds(wake_at: datetime, now: datetime) -> int:
    """Whole seconds to hold the message: rounded down, so it arrives at or before its time."""
    return max(0, min(MAX_DELAY_SECONDS, floor((wake_at - now).total_seconds())))


def parse_message(body: str) -> list[uuid.UUID]:
    """The email ids a message names, or PoisonMessage."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        raise PoisonMessage("message body is not JSON") from None
    ids = data.get("emails") if isinstance(data, dict) else None
    if not isinstance(ids, list) or not ids or len(ids) > MAX_EMAILS_PER_MESSAGE:
        raise PoisonMessage("message names no email")
    try:
        return [uuid.UUID(str(i)) for i in ids]
    except ValueError:
        raise PoisonMessage("message names an email id that is not a UUID") from None

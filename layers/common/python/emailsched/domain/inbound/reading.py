"""What the reply poller reads from one inbound message: its kind, why, the Message-IDs it
names, and the recipients it reports as failed or complained about. Pure values.

The poller and `emailsched inbound` both show this: `as_dict` is the command's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    OTHER = "other"


class Bounce(StrEnum):
    HARD = "hard"  # the address cannot receive mail: suppress it
    SOFT = "soft"  # this message failed or waits; the address may work later


@dataclass(frozen=True)
class Recipient:
    """One address a report names, with what happened to it."""

    email: str
    status: str | None = None  # an RFC 3463 code, "5.1.1", where the report gives one
    action: str = "failed"  # failed, delayed (RFC 3464), complained
    bounce: Bounce | None = None
    diagnostic: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"email": self.email, "status": self.status, "action": self.action,
                "bounce": None if self.bounce is None else self.bounce.value,
                "diagnostic": self.diagnostic}


@dataclass(frozen=True)
class Reading:
    kind: Kind
    reason: str  # the signal that decided the kind ("" for a plain reply)
    message_ids: tuple[str, ...]  # ours to match: returned or quoted ids first, then threading
    recipients: tuple[Recipient, ...] = ()
    message_id: str | None = None  # the inbound message's own id

    def as_dict(self, file: str) -> dict[str, Any]:
        return {"file": file, "kind": self.kind.value, "reason": self.reason,
                "messageIds": list(self.message_ids),
                "recipients": [r.as_dict() for r in self.recipients]}

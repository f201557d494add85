"""Delivery status reports (RFC 3464) read from bytes: who failed, how, for which message.

A report is `multipart/report; report-type=delivery-status` with a `message/delivery-status`
part (one block of per-message fields, then one block per recipient: `Final-Recipient`,
`Action`, `Status`, `Diagnostic-Code`) and the returned message or its headers
(`message/rfc822` or `text/rfc822-headers`), whose `Message-ID` names our email.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import Message

from emailsched.domain.bounces import BounceClass, classify_status, enhanced_status


@dataclass(frozen=True)
class DsnRecipient:
    final_recipient: str  # the address, without its `rfc822;` type
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # the enhanced code, `5.1.1`
    diagnostic: str | None = None

    @property
    def bounce_class(self) -> BounceClass | None:
        """The class of a failed or delayed delivery; None for a success."""
        if self.action not in ("failed", "delayed") or self.status[:1] not in ("4", "5"):
            return None
        return classify_status(self.status)


@dataclass(frozen=True)
class DeliveryReport:
    original_message_id: str | None
    recipients: tuple[DsnRecipient, ...]


def parse_dsn(raw: bytes) -> DeliveryReport | None:
    """The report in a message's bytes, or None when the message is not a DSN."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not _is_delivery_report(message):
        return None
    recipients: list[DsnRecipient] = []
    message_id: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            recipients += _recipients(part)
        elif kind in ("message/rfc822", "text/rfc822-headers") and message_id is None:
            message_id = _returned_message_id(part)
    return DeliveryReport(message_id, tuple(recipients))


def _is_delivery_report(message: Message) -> bool:
    return (message.get_content_type() == "multipart/report"
            and str(message.get_param("report-type", "")).lower() == "delivery-status")


def _recipients(part: Message) -> list[DsnRecipient]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return []
    found = (_recipient(block) for block in blocks[1:] if isinstance(block, Message))
    return [recipient for recipient in found if recipient is not None]


def _recipient(block: Message) -> DsnRecipient | None:
    final = _unfolded(block.get("Final-Recipient") or block.get("Original-Recipient"))
    status = enhanced_status(_unfolded(block.get("Status")) or "")
    if not final or status is None:
        return None
    address = final.split(";", 1)[-1].strip().strip("<>")
    action = (_unfolded(block.get("Action")) or "").lower()
    return DsnRecipient(address, action, status, _unfolded(block.get("Diagnostic-Code")) or None)


def _returned_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        returned = payload[0]  # message/rfc822: parsed for us
    else:
        text = part.get_payload(decode=True) or b""
        returned = email.message_from_bytes(bytes(text))  # headers only: nothing else to cut
    return _unfolded(returned.get("Message-ID")) or None


def _unfolded(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""

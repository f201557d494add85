"""Complaints: a recipient marked our email as spam, reported by their mailbox provider.

- RFC 5965 (ARF): `multipart/report; report-type=feedback-report` with a
  `message/feedback-report` part (`Feedback-Type: abuse`, `Original-Rcpt-To` where the
  provider tells the recipient) and the original message or its headers.
- Microsoft's JMRP (Hotmail, Outlook.com): a message from `staff@hotmail.com` (or an
  outlook.com address) attaching the original as `message/rfc822`, the recipient in its
  `X-HmXmrOriginalRecipient` header.

Only abuse (and fraud, virus) reports are complaints; `not-spam` and `other` feedback is
left alone. Where the provider redacted the recipient, the original's To names them.
"""

from __future__ import annotations

import email
from email.message import Message
from email.utils import getaddresses

from emailsched.domain.inbound.reading import Recipient
from emailsched.domain.inbound.returned import returned_message
from emailsched.domain.inbound.text import decoded

_COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus"})
_JMRP_SENDERS = ("staff@hotmail.com", "@outlook.com", "@hotmail.com")


def complaint(message: Message, from_address: str | None) -> tuple[str, list[Recipient]] | None:
    """(reason, recipients) when `message` is a complaint, else None."""
    report = _feedback_report(message)
    if report is not None:
        kind = _field(report, "Feedback-Type").lower()
        if kind not in _COMPLAINT_TYPES:
            return None
        rcpt = _field(report, "Original-Rcpt-To") or _original_to(message)
        return f"Feedback-Type: {kind}", _complained(rcpt)
    return _jmrp(message, from_address)


def _feedback_report(message: Message) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            return email.message_from_string(decoded(part).strip() + "\n")
    return None


def _jmrp(message: Message, from_address: str | None) -> tuple[str, list[Recipient]] | None:
    sender = (from_address or "").lower()
    if not any(sender == s or (s.startswith("@") and sender.endswith(s)) for s in _JMRP_SENDERS):
        return None
    original = returned_message(message)
    if original is None:
        return None
    rcpt = _field(original, "X-HmXmrOriginalRecipient")
    if not rcpt:
        return None
    return "JMRP complaint (X-HmXmrOriginalRecipient)", _complained(rcpt)


def _original_to(message: Message) -> str:
    original = returned_message(message)
    return _field(original, "To") if original is not None else ""


def _complained(value: str) -> list[Recipient]:
    addresses = [a for _, a in getaddresses([value]) if "@" in a]
    return [Recipient(email=a, action="complained") for a in dict.fromkeys(addresses)]


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""

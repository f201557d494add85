"""RFC 3464 delivery status reports, wherever the `message/delivery-status` part sits: the
top of a `multipart/report`, or inside a `multipart/mixed` (OpenSMTPD, some gateways).

Each per-recipient block gives `Final-Recipient` (or `Original-Recipient`), `Action`,
`Status` and `Diagnostic-Code`; a block whose Action is delivered, relayed or expanded is
a success and is left out. The returned message (`message/rfc822` or
`text/rfc822-headers`) gives the Message-ID of ours that failed (inbound/returned.py).
"""

from __future__ import annotations

import email
from email.message import Message

from emailsched.domain.bounces import enhanced_status
from emailsched.domain.inbound.meaning import bounce_of
from emailsched.domain.inbound.reading import Recipient

_FAILURES = frozenset({"failed", "delayed"})


def recipients(message: Message) -> list[Recipient]:
    """The failed or delayed recipients of every delivery-status part in `message`."""
    found: list[Recipient] = []
    for part in _reports(message):
        found += [r for r in map(_recipient, _blocks(part)) if r is not None]
    return found


def has_report(message: Message) -> bool:
    return bool(_reports(message))


def _reports(message: Message) -> list[Message]:
    """The delivery-status parts, not looking inside attached messages (a person who
    forwards a bounce as an attachment is writing to us, not reporting)."""
    if message.get_content_type() == "message/delivery-status":
        return [message]
    payload = message.get_payload()
    if not message.is_multipart() or not isinstance(payload, list):
        return []
    found: list[Message] = []
    for part in payload:
        if isinstance(part, Message) and part.get_content_type() != "message/rfc822":
            found += _reports(part)
    return found


def _blocks(part: Message) -> list[Message]:
    """The per-recipient field blocks (the first block is per-message)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload[1:] if isinstance(block, Message)]
    text = _text(part)  # an unparsed body: split the blocks ourselves
    chunks = [c for c in text.replace("\r\n", "\n").split("\n\n") if c.strip()]
    return [email.message_from_string(chunk.strip() + "\n") for chunk in chunks[1:]]


def _recipient(block: Message) -> Recipient | None:
    final = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
    address = final.split(";", 1)[-1].strip().strip("<>")
    action = _field(block, "Action").lower() or "failed"
    if "@" not in address or action not in _FAILURES:
        return None
    diagnostic = _field(block, "Diagnostic-Code").split(";", 1)[-1].strip()
    status = enhanced_status(_field(block, "Status"))
    return Recipient(email=address, status=status, action=action,
                     bounce=bounce_of(status, diagnostic, action),
                     diagnostic=diagnostic or None)


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _text(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(part.get_payload())

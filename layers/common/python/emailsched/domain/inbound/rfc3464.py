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
_SUCCESSES = frozenset({"delivered", "relayed", "expanded"})


def recipients(message: Message) -> list[Recipient]:
    """The failed or delayed recipients of every delivery-status part in `message`."""
    found: list[Recipient] = []
    for part in _reports(message):
        found += [r for r in map(_recipient, _blocks(part)) if r is not None]
    return found


def has_report(message: Message) -> bool:
    return bool(_reports(message))


def names_anyone(message: Message) -> bool:
    """Whether a delivery-status part names any recipient, failed or not (a report of
    successful deliveries names them; an empty one, as some gateways send, does not)."""
    return any(_address(block, "Original-Recipient") or _address(block, "Final-Recipient")
               for part in _reports(message) for block in _blocks(part))


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
    if isinstance(payload, list):  # all of them: a line of spaces may merge the first two
        return [block for block in payload if isinstance(block, Message)]
    text = _text(part)  # an unparsed body: split the blocks ourselves
    chunks = [c for c in text.replace("\r\n", "\n").split("\n\n") if c.strip()]
    return [email.message_from_string(chunk.strip() + "\n") for chunk in chunks]


def _recipient(block: Message) -> Recipient | None:
    # The original address first: the final one may be rewritten (an alias, a mail store).
    address = _address(block, "Original-Recipient") or _address(block, "Final-Recipient")
    status = _status(_field(block, "Status"))
    action = _action(_field(block, "Action"), status)
    if not address or action not in _FAILURES:
        return None
    diagnostic = _field(block, "Diagnostic-Code").split(";", 1)[-1].strip()
    return Recipient(email=address, status=status, action=action,
                     bounce=bounce_of(status, diagnostic, action),
                     diagnostic=diagnostic or None)


def _address(block: Message, name: str) -> str:
    address = _field(block, name).split(";", 1)[-1].strip().strip("<>")
    return address if "@" in address else ""


def _status(value: str) -> str | None:
    """The enhanced code; a basic reply code ("553 Exceeded ...") as its class, X.0.0."""
    code = enhanced_status(value)
    if code is None and value[:1] in ("4", "5") and value[:3].isdigit():
        return f"{value[0]}.0.0"
    return code


def _action(value: str, status: str | None) -> str:
    """failed, delayed or a success, read leniently: "failure", "failed (Bad destination
    ...)", "error"; a word RFC 3464 does not know is read from the status."""
    word = value.split(" ", 1)[0].strip(";,").lower()
    if word.startswith("fail") or word == "error":
        return "failed"
    if word.startswith("delay"):
        return "delayed"
    if word in _SUCCESSES or status is None or status.startswith("2"):
        return word  # a success ("deliverable", 2.1.5): not a failure
    return "delayed" if status.startswith("4") else "failed"


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _text(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(part.get_payload())

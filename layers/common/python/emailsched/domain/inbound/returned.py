"""The Message-IDs of the original a report returns or quotes: a `message/rfc822` or
`text/rfc822-headers` part, else `Message-ID:` lines in the text (text bounces quote the
original's headers after their explanation). Ours are matched against these first."""

from __future__ import annotations

import email
import re
from email.message import Message
from email.utils import getaddresses

from emailsched.domain.inbound.text import decoded, full_text
from emailsched.domain.replies import message_ids

_QUOTED_TO = re.compile(r"^[ \t>]*To:[ \t]*(.+)$", re.IGNORECASE | re.MULTILINE)
_QUOTED_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


def returned_message_ids(message: Message) -> tuple[str, ...]:
    found: list[str] = []
    for part in message.walk():
        if part is message:
            continue
        kind = part.get_content_type()
        if kind in ("message/rfc822", "text/rfc822-headers"):
            found += message_ids(_returned_header(part, "Message-ID"))
    for value in _QUOTED_ID.findall(full_text(message)):
        found += message_ids(value)
    return tuple(dict.fromkeys(found))


def returned_recipient(message: Message, text_after_explanation: str) -> str | None:
    """The one address the returned or quoted original was sent to, or None (none, or
    several: then which one failed is not known). Our emails have one recipient each."""
    original = returned_message(message)
    value = str(original.get("To") or "") if original is not None else ""
    if not value:
        quoted = _QUOTED_TO.search(text_after_explanation)
        value = quoted.group(1) if quoted else ""
    addresses = {a.lower() for _, a in getaddresses([value]) if "@" in a}
    return addresses.pop() if len(addresses) == 1 else None


def returned_message(message: Message) -> Message | None:
    """The first returned original (its headers at least), or None."""
    for part in message.walk():
        kind = part.get_content_type()
        if part is not message and kind in ("message/rfc822", "text/rfc822-headers"):
            return _returned(part)
    return None


def _returned_header(part: Message, name: str) -> str:
    returned = _returned(part)
    value = returned.get(name) if returned is not None else None
    return " ".join(str(value).split()) if value is not None else ""


def _returned(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return email.message_from_string(decoded(part))

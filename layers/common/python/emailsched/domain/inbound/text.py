"""The text of a report: all its text parts, and the explanation alone (the text before
the returned copy of the original, which would otherwise lend its words and addresses).
"""

from __future__ import annotations

import html
import re
from email.message import Message

_RETURNED_MARKER = re.compile(
    r"^[ \t>-]*(?:-{2,}\s*)?(?:"
    r"this\s+is\s+a\s+copy\s+of\s+the\s+message|below\s+this\s+line\s+is\s+a\s+copy"
    r"|original\s+message(?:\s+follows|\s+headers)?\s*(?:-|:|$)|returned\s+message"
    r"|the\s+(?:original|first)\s+\S*\s*(?:lines|message|headers)\s+(?:was|were|of|follow)"
    r"|unsent\s+message\s+(?:below|follows)|message\s+headers?\s+follow|text\s+of\s+the\s+original"
    r"|undelivered\s+message\s+follows|headers\s+of\s+the\s+original"
    r"|original-recipient:|received:\s+from\s)",
    re.IGNORECASE | re.MULTILINE)
_TAG = re.compile(r"<[^>]+>")
_MAX_PART = 200_000


def full_text(message: Message) -> str:
    """The text/plain (or, lacking any, text/html) parts outside returned messages."""
    plain, markup = [], []
    for part in _own_parts(message):
        kind = part.get_content_type()
        if kind == "text/plain":
            plain.append(decoded(part))
        elif kind == "text/html":
            markup.append(html.unescape(_TAG.sub(" ", decoded(part))))
    return "\n".join(plain or markup).replace("\r\n", "\n")  # the formats' patterns use \n


def explanation(message: Message) -> str:
    """The report's own words: its text up to the returned original."""
    text = full_text(message)
    marker = _RETURNED_MARKER.search(text)
    return text[:marker.start()] if marker and marker.start() > 0 else text


def decoded(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw[:_MAX_PART].decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return raw[:_MAX_PART].decode("utf-8", "replace")


def _own_parts(message: Message) -> list[Message]:
    """Leaf parts, not descending into attached messages (the original we sent)."""
    if message.get_content_type().startswith("message/"):
        return []
    payload = message.get_payload()
    if not message.is_multipart() or not isinstance(payload, list):
        return [message]
    parts: list[Message] = []
    for part in payload:
        if isinstance(part, Message):
            parts += _own_parts(part)
    return parts

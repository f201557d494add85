"""What the inbox keeps of an inbound message: its text, its HTML made safe to show, the
headers that matter and its attachments' names, sizes and types (not their content).

    content = read_content(raw)   # InboundContent

The HTML is sanitised by nh3 (the Rust `ammonia` sanitiser): scripts, styles sheets,
forms, frames, event handlers (`onerror`, ...) and `javascript:` URLs go; inline styles
keep only properties that load nothing. Remote images are tracking pixels: their `src`
becomes `data-remote-src`, which the dashboard turns back into `src` when the user asks to
load them. `data:` images (inline) stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message

import nh3

from emailsched.domain.replies import parse_message
from emailsched.domain.text_part import html_to_text

HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "In-Reply-To")
_TAGS = nh3.ALLOWED_TAGS - {"form", "input", "button", "select", "textarea", "iframe"}
_ATTRIBUTES = {**{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
               "*": {"style", "title", "dir", "lang", "align"}}
_ATTRIBUTES["img"] = (_ATTRIBUTES.get("img", set()) | {"src", "alt", "width", "height"}) \
    - {"srcset"}
_STYLES = {"color", "background-color", "font-family", "font-size", "font-weight",
           "font-style", "text-align", "text-decoration", "line-height", "margin",
           "padding", "border", "width", "height", "display", "vertical-align"}
_SCHEMES = {"http", "https", "mailto", "tel", "data", "cid"}
_REMOTE_IMG = re.compile(r'(<img\b[^>]*?\s)src="((?:https?:)?//[^"]*)"', re.IGNORECASE)
MAX_TEXT = 200_000


@dataclass(frozen=True)
class Attachment:
    name: str
    size: int
    content_type: str


@dataclass(frozen=True)
class InboundContent:
    text: str
    html: str | None
    headers: dict[str, str]
    attachments: list[Attachment] = field(default_factory=list)


def read_content(raw: bytes) -> InboundContent:
    message = parse_message(raw)
    html_part = _body(message, "html")
    html = sanitise_html(html_part) if html_part else None
    text = _body(message, "plain") or (html_to_text(html_part) if html_part else "")
    return InboundContent(text=text[:MAX_TEXT], html=html, headers=_headers(message),
                          attachments=_attachments(message))


def sanitise_html(html: str) -> str:
    """`html` safe to put in the dashboard's page: no script, no handler, no remote load."""
    clean = nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_SCHEMES,
                      clean_content_tags={"script", "style", "title"},
                      filter_style_properties=_STYLES,
                      link_rel="noopener noreferrer nofollow")
    return _REMOTE_IMG.sub(r'\1data-remote-src="\2"', clean)


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AttributeError):  # an unknown charset, a bad encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _headers(message: Message) -> dict[str, str]:
    found = {}
    for name in HEADERS:
        try:
            value = message.get(name)
        except (ValueError, IndexError, TypeError):  # a header the policy cannot decode
            value = None
        if value is not None:
            found[name] = " ".join(str(value).split())[:2000]
    return found


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        found.append(Attachment(name=part.get_filename() or "attachment",
                                size=len(payload) if isinstance(payload, bytes) else 0,
                                content_type=part.get_content_type()))
    return found


@dataclass(frozen=True)
class KeptMessage:
    """An inbound message as the inbox stores it for one thread."""

    inbound_id: str  # its Message-ID, or a hash of it when it has none
    kind: str  # domain/inbox/verdict.MessageKind (reply, auto_reply, bounce)
    content: InboundContent
    received_at: datetime

    @property
    def snippet(self) -> str:
        return " ".join(self.content.text.split())[:200]

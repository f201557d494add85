"""Amazon SES notifications sent by email (an SNS topic with an email subscription): a
JSON document, `notificationType` Bounce or Complaint, naming the recipients.

    {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent",
     "bouncedRecipients": [{"emailAddress": "a@example.org", "status": "5.1.1",
                            "action": "failed", "diagnosticCode": "smtp; 550 5.1.1 ..."}]},
     "mail": {"messageId": "...", "headers": [{"name": "Message-ID", "value": "<...>"}]}}

Samples: sisimai's lhost-amazonses-*.eml (tests/data/bounces/sisimai/)."""

from __future__ import annotations

import json
import re
from typing import Any

from emailsched.domain.inbound.meaning import bounce_of, failure_status
from emailsched.domain.inbound.reading import Kind, Recipient

_DECODER = json.JSONDecoder()
_UNWRAPPED = re.compile(r"\r?\n ?")


def notification(text: str) -> tuple[Kind, list[Recipient], list[str]] | None:
    """(kind, recipients, Message-IDs of the original) of an SES notification, or None."""
    document = _document(text)
    if document is None:
        return None
    kind = document.get("notificationType") or document.get("eventType")
    if kind == "Complaint":
        listed = _list(document.get("complaint"), "complainedRecipients")
        recipients = [Recipient(email=str(r.get("emailAddress")), action="complained")
                      for r in listed if "@" in str(r.get("emailAddress", ""))]
        return Kind.COMPLAINT, recipients, _original_ids(document)
    if kind == "Bounce":
        bounce = document.get("bounce") or {}
        transient = bounce.get("bounceType") == "Transient"
        listed = _list(bounce, "bouncedRecipients")
        return Kind.BOUNCE, [_bounced(r, transient) for r in listed
                             if "@" in str(r.get("emailAddress", ""))], _original_ids(document)
    return None


def _document(text: str) -> dict[str, Any] | None:
    start = text.find('{"')
    if start < 0 or ("notificationType" not in text and "eventType" not in text):
        return None
    for candidate in (text[start:], _UNWRAPPED.sub("", text[start:])):  # a client may wrap it
        try:
            document, _end = _DECODER.raw_decode(candidate)
        except ValueError:
            continue
        return document if isinstance(document, dict) else None
    return None


def _bounced(entry: dict[str, Any], transient: bool) -> Recipient:
    diagnostic = str(entry.get("diagnosticCode") or "").split(";", 1)[-1].strip()
    status = failure_status(str(entry.get("status") or "")) or failure_status(diagnostic)
    action = "delayed" if transient else "failed"
    return Recipient(email=str(entry["emailAddress"]), status=status, action=action,
                     bounce=bounce_of(status, diagnostic, action), diagnostic=diagnostic or None)


def _list(section: object, key: str) -> list[dict[str, Any]]:
    value = section.get(key) if isinstance(section, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _original_ids(document: dict[str, Any]) -> list[str]:
    mail = document.get("mail") or {}
    headers = mail.get("headers") if isinstance(mail, dict) else None
    return [str(h.get("value")) for h in headers or []
            if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id"]

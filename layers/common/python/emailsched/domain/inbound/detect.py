"""One inbound message read: a complaint, a bounce (RFC 3464 anywhere, or text in one of
many formats), or else a reply, an automatic reply, or other (domain/replies.py). The
reply poller and `emailsched inbound` both call `read_inbound`. Pure: no I/O.

Order, each step only where the earlier ones found nothing:
1. an ARF or JMRP complaint (inbound/arf.py), or an Amazon SES notification by email
   (inbound/ses_notification.py);
2. a `message/delivery-status` part, not inside an attached message (inbound/rfc3464.py);
3. a message with a mail system's signs (inbound/envelope.py): its failed recipients from
   the text formats (inbound/formats/), `X-Failed-Recipients` and flufl.bounce, each with
   the diagnostic its format gives or else the report's explanation; a message from a
   mail system in which none is found is still a bounce (with no recipient), never a
   reply; one with only a bounce's subject is one only when a recipient is found;
4. domain/replies.py's reading: a person's reply, an automatic one, or other.
A person forwarding a bounce writes "Fwd:" and is not a mail system: their message stays
a reply.
"""

from __future__ import annotations

import email
from dataclasses import replace
from email.message import Message

from flufl.bounce import all_failures

from emailsched.domain.inbound import arf, envelope, formats, rfc3464, ses_notification
from emailsched.domain.inbound.meaning import GENERIC, bounce_of, failure_status
from emailsched.domain.inbound.reading import Bounce, Kind, Reading, Recipient
from emailsched.domain.inbound.returned import returned_message_ids, returned_recipient
from emailsched.domain.inbound.text import explanation, full_text
from emailsched.domain.replies import InboundKind, InboundMessage, classify, message_ids

_KINDS = {InboundKind.REPLY: Kind.REPLY, InboundKind.AUTO_REPLY: Kind.AUTO_REPLY,
          InboundKind.OTHER: Kind.OTHER, InboundKind.DSN: Kind.BOUNCE}
_DIAGNOSTIC_CHARS = 600


def read_inbound(raw: bytes) -> Reading:
    # compat32: it reads old and broken reports that the modern policy refuses.
    message = email.message_from_bytes(raw)
    inbound = classify(message)
    found = arf.complaint(message, inbound.from_address)
    if found is not None:
        return _reading(message, inbound, Kind.COMPLAINT, found[0], found[1])
    ses = ses_notification.notification(full_text(message))
    if ses is not None:
        kind, recipients, ids = ses
        reading = _reading(message, inbound, kind, "Amazon SES notification", recipients)
        return replace(reading, message_ids=tuple(dict.fromkeys(
            [i for own in ids for i in message_ids(own)] + list(reading.message_ids))))
    if rfc3464.has_report(message):
        return _report(message, inbound)
    sign = envelope.system_sign(message, inbound.subject, threaded=bool(inbound.references))
    if sign:
        recipients = text_recipients(message, inbound.from_address)
        if recipients or not envelope.by_subject(sign):
            reason = sign if recipients else f"{sign}, no failed recipient found"
            return _reading(message, inbound, Kind.BOUNCE, reason, recipients)
    return Reading(_KINDS[inbound.kind], inbound.reason, inbound.references,
                   message_id=inbound.message_id)


def _report(message: Message, inbound: InboundMessage) -> Reading:
    """An RFC 3464 report; one whose delivery-status part names no recipient at all (some
    gateways send it empty) is read as text; one of successful deliveries is no bounce."""
    recipients = [_explained(r, message) for r in rfc3464.recipients(message)]
    reason = "RFC 3464 delivery-status"
    if not recipients and not rfc3464.names_anyone(message):
        recipients = text_recipients(message, inbound.from_address)
        reason += ", no recipient in it: read as text"
    if not recipients:
        return _reading(message, inbound, Kind.AUTO_REPLY, "RFC 3464, nothing failed", [])
    return _reading(message, inbound, Kind.BOUNCE, reason, recipients)


def text_recipients(message: Message, sender: str | None) -> list[Recipient]:
    """Failed recipients of a text bounce, each with its diagnostic and class."""
    said = explanation(message)
    fallback = " ".join(said.split())[:_DIAGNOSTIC_CHARS]
    failed: dict[str, tuple[str, str, str]] = {}  # lower-cased -> (address, diagnostic, action)
    for _format, address, diagnostic in formats.matches(said):
        failed.setdefault(address.lower(), (address, diagnostic[:_DIAGNOSTIC_CHARS], "failed"))
    for address in envelope.failed_recipients_header(message):
        failed.setdefault(address.lower(), (address, "", "failed"))
    for address, action in _flufl(message):
        known = failed.get(address.lower())
        if known is None or action == "delayed":  # flufl tells a warning from a failure
            failed[address.lower()] = (address, known[1] if known else "", action)
    ours = (sender or "").lower()
    found = [_text_recipient(address, diagnostic or fallback, action)
             for key, (address, diagnostic, action) in failed.items() if key != ours]
    if not found:  # the generic reading: the returned original's one recipient failed
        original = returned_recipient(message, full_text(message)[len(said):])
        found = [_text_recipient(original, fallback, "failed")] if original else []
    return found


def _explained(recipient: Recipient, message: Message) -> Recipient:
    """A report's recipient whose status is generic (5.0.0) and whose diagnostic says no
    reason, classed again with the report's own words ("Reason: recipient reached disk
    quota"), which many servers write only there."""
    if recipient.bounce is Bounce.HARD or (recipient.status or "5.0.0") not in GENERIC:
        return recipient
    said = " ".join(explanation(message).split())[:_DIAGNOSTIC_CHARS]
    bounce = bounce_of(recipient.status, f"{recipient.diagnostic or ''} {said}",
                       recipient.action)
    return replace(recipient, bounce=bounce)


def _text_recipient(address: str, diagnostic: str, action: str) -> Recipient:
    status = failure_status(diagnostic)
    return Recipient(email=address, status=status, action=action,
                     bounce=bounce_of(status, diagnostic, action), diagnostic=diagnostic or None)


def _flufl(message: Message) -> list[tuple[str, str]]:
    """flufl.bounce's addresses: (address, "delayed" for its warnings, else "failed")."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a third-party parser on hostile input: no answer, not a crash
        return []
    found = [(_text(a), "failed") for a in permanent] + [(_text(a), "delayed") for a in temporary]
    return sorted((address, action) for address, action in found if "@" in address)


def _text(address: bytes | str) -> str:
    text = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    return text.strip().strip("<>")


def _reading(message: Message, inbound: InboundMessage, kind: Kind, reason: str,
             recipients: list[Recipient]) -> Reading:
    ids = tuple(dict.fromkeys(returned_message_ids(message) + inbound.references))
    return Reading(kind, reason, ids, tuple(recipients), inbound.message_id)

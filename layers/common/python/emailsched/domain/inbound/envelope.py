"""Whether a message comes from a mail system rather than a person: the signs on its
outside that make it a bounce to read (and never a reply), whatever its body says.

- A daemon sender, in its real spellings: `MAILER-DAEMON`, `mailer-daemon`, `postmaster`,
  `post_master` (carrier gateways), `mailer@`, `mail-daemon`, `mdaemon`; list managers
  answering for a list (`mailman`, `majordomo`, `listserv`, `-bounces@`, `-owner@`);
  a display name of "Mail Delivery System" / "Mail Delivery Subsystem".
- `X-Failed-Recipients` (Exim, Gmail).
- A bounce subject ("Undelivered Mail Returned to Sender", "failure notice", "Delivery
  Status Notification (Failure)", "Undeliverable: ...", "Mail delivery failed", ...),
  unless it starts with Re: or Fwd: in a message that threads (In-Reply-To, References):
  a person passing a bounce on is writing to us.

A null return path alone is not one of them: vacation responders use it too (RFC 3834);
domain/replies.py already keeps such messages from counting as replies.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import getaddresses, parseaddr

_DAEMON_LOCAL = re.compile(
    r"^(?:mailer[-_]?daemon|mail[-_]?daemon|mdaemon|post[-_]?master|mailer|mail[-_]?delivery"
    r"|mailman|majordomo|listserv|lyris|bounces?|ndr|mailerdaemon)(?:[-+.].*)?$"
    r"|[-.](?:bounces?|owner|admin)$|^owner-",
    re.IGNORECASE)
_DAEMON_NAME = re.compile(r"mail\s+delivery\s+(?:sub)?system|mailer[-\s]daemon|postmaster",
                          re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery\s+status\s+notification|delivery\s+(?:has\s+)?fail"
    r"|delivery\s+failure|mail\s+delivery\s+(?:failed|problem|error)|returned\s+mail"
    r"|failure\s+notice|non[-\s]?deliver|could\s+not\s+be\s+delivered|not\s+delivered"
    r"|mail\s+system\s+error|delivery\s+notification|warning:\s+could\s+not\s+send"
    r"|delayed\s+mail|message\s+delayed|rejected:|returned\s+to\s+sender|bounced?\s+mail"
    r"|permanent\s+(?:delivery\s+)?(?:error|failure)|mail\s+error|delivery\s+warning"
    r"|non\s+remis|unzustellbar|no\s+entregado",
    re.IGNORECASE)
_PERSONAL_PREFIX = re.compile(r"^\s*(?:re|fwd?|aw|wg|tr|sv|vs)\s*(?:\[\d+\])?\s*:",
                              re.IGNORECASE)


def system_sign(message: Message, subject: str, threaded: bool) -> str:
    """The first sign that a mail system sent `message`, or "" for none. `threaded`: it
    has In-Reply-To or References, as a person's reply or forward from a mail client.
    A sign from the subject alone starts with "subject" (weaker: see `by_subject`)."""
    raw_from = str(message.get("From") or "")
    name, address = parseaddr(raw_from)
    if raw_from and (not address or address == "<>") and "<>" in raw_from:
        return "a null From"
    local = address.rpartition("@")[0] if "@" in address else address
    if local and _DAEMON_LOCAL.search(local):
        return f"from {address}"
    if name and _DAEMON_NAME.search(name):
        return f"from {name!r}"
    if message.get("X-Failed-Recipients"):
        return "X-Failed-Recipients"
    personal = threaded and _PERSONAL_PREFIX.match(subject)
    if _BOUNCE_SUBJECT.search(subject) and not personal:
        return f"subject {subject!r}"
    return ""


def by_subject(sign: str) -> bool:
    """Whether only the subject gave the sign: then the message is a bounce only if a
    failed recipient is found in it (a newsletter may speak of "delivery failures")."""
    return sign.startswith("subject ")


def failed_recipients_header(message: Message) -> list[str]:
    """The addresses of every `X-Failed-Recipients` header."""
    values = [str(v) for v in message.get_all("X-Failed-Recipients") or []]
    return [address for _, address in getaddresses(values) if "@" in address]
